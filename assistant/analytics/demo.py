"""A seeded synthetic shop: customers, orders, reviews (zh + en, dated) and campaign logs.

Generated from one story so every analysis has something real to find: engaged customers buy more often
and lapse later (churn is learnable from recency, frequency, e-mail opens and support tickets), reviews
mention shipping/quality/price/service/packaging with clause-level sentiment, a 618 shopping-festival week
brings a volume spike full of shipping complaints, quality complaints grow in the last quarter, and in
campaign `spring_sale` variant B truly converts better while in `new_arrivals` it does not.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from assistant.errors import InputError

START, CUTOFF = pd.Timestamp("2025-10-01"), pd.Timestamp("2026-09-30")
HORIZON_DAYS = 90  # churned = no order in the 90 days after the cutoff

_CLAUSES = {  # aspect -> language -> (positive clauses, negative clauses)
    "shipping": {"zh": (["物流很快", "快递第二天就到了", "发货速度很快", "配送很及时"],
                        ["物流太慢了", "快递等了一个星期", "发货很慢", "配送延误了好几天"]),
                 "en": (["shipping was fast", "delivery arrived the next day", "quick delivery"],
                        ["shipping was slow", "delivery took two weeks", "the courier was late again"])},
    "quality": {"zh": (["质量很好", "做工精致", "材质不错", "用了一个月很耐用"],
                       ["质量很差", "用了两天就坏了", "做工粗糙有瑕疵", "感觉是假货"]),
                "en": (["great quality", "the material feels sturdy", "build quality is excellent"],
                       ["poor quality", "it broke after two days", "the material feels cheap and defective"])},
    "price": {"zh": (["价格实惠", "性价比很高", "价格很划算"], ["价格太贵了", "不值这个价", "比别家贵"]),
              "en": (["good value for the price", "the price is fair", "cheap and worth it"],
                     ["way too expensive", "overpriced for what it is", "not worth the price"])},
    "service": {"zh": (["客服态度很好", "客服很耐心", "售后处理及时"], ["客服态度差", "客服不回复", "退款拖了很久"]),
                "en": (["customer service was helpful", "the seller was friendly", "support solved it quickly"],
                       ["customer service was rude", "support never replied", "the refund took forever"])},
    "packaging": {"zh": (["包装很精致", "包装完好"], ["包装破损", "盒子都压坏了"]),
                  "en": (["nicely packaged", "the box arrived intact"], ["the package was damaged", "the box was crushed"])},
}
_PRODUCTS = ["earbuds", "kettle", "backpack", "t-shirt", "face cream", "tea set"]
_CATEGORIES = {"earbuds": "electronics", "kettle": "home", "backpack": "bags", "t-shirt": "clothing",
               "face cream": "beauty", "tea set": "home"}
_PRICE = {"earbuds": 199, "kettle": 129, "backpack": 259, "t-shirt": 79, "face cream": 149, "tea set": 219}


def customers_and_orders(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    engagement = rng.normal(size=n)
    tier = rng.choice(["tier1", "tier2", "tier3"], size=n, p=[0.3, 0.45, 0.25])
    channel = rng.choice(["search", "social", "email", "referral"], size=n, p=[0.35, 0.3, 0.15, 0.2])
    signup = START - pd.to_timedelta(rng.integers(0, 400, size=n), unit="D")
    tickets = rng.poisson(np.exp(-0.2 - 0.6 * engagement))
    # Referral customers stay longer; unresolved tickets push people away.
    hazard = 0.0004 * np.exp(-0.9 * engagement + 0.25 * tickets - 0.4 * (channel == "referral"))
    lapse = START + pd.to_timedelta(rng.exponential(1 / hazard).clip(0, 2000), unit="D")
    rate = 0.03 * np.exp(0.5 * engagement + 0.2 * (tier == "tier1"))  # orders per active day
    spend = rng.lognormal(mean=np.log(120) + 0.2 * (tier == "tier1"), sigma=0.35, size=n)
    end = CUTOFF + pd.Timedelta(days=HORIZON_DAYS)
    orders = []
    active_to = np.minimum(lapse.values, np.datetime64(end))
    # Some still-active customers leave right at the cutoff: the part of churn recency cannot see, but
    # e-mail engagement, tickets and the acquisition channel can.
    leave = rng.random(n) < 1 / (1 + np.exp(1.4 + 1.1 * engagement - 0.5 * tickets + 0.6 * (channel == "referral")))
    active_to = np.where(leave, np.minimum(active_to, np.datetime64(CUTOFF)), active_to)
    for i in range(n):
        days = max(0.0, (active_to[i] - np.datetime64(START)) / np.timedelta64(1, "D"))
        k = rng.poisson(rate[i] * days)
        if k == 0:
            continue
        offsets = np.sort(rng.uniform(0, days, size=k))
        for off in offsets:
            product = _PRODUCTS[rng.integers(len(_PRODUCTS))]
            amount = round(float(spend[i] * rng.uniform(0.6, 1.6) * _PRICE[product] / 160), 2)
            orders.append((f"C{i:05d}", START + pd.Timedelta(days=float(off)), amount, product))
    o = pd.DataFrame(orders, columns=["customer_id", "order_date", "amount", "product"])
    o["order_date"] = o["order_date"].dt.floor("min")
    o["category"] = o["product"].map(_CATEGORIES)
    future = set(o.loc[o["order_date"] > CUTOFF, "customer_id"])
    past = o[o["order_date"] <= CUTOFF].sort_values("order_date").reset_index(drop=True)
    past.insert(0, "order_id", [f"O{i:06d}" for i in range(len(past))])
    g = past.groupby("customer_id")
    ids = [f"C{i:05d}" for i in range(n)]
    last = g["order_date"].max().reindex(ids)
    cust = pd.DataFrame({
        "customer_id": ids,
        "signup_date": signup.strftime("%Y-%m-%d"),
        "city_tier": tier,
        "acquisition_channel": channel,
        "age": rng.integers(18, 66, size=n),
        "tenure_days": (CUTOFF - signup).days,
        "recency_days": (CUTOFF - last).dt.days.fillna((CUTOFF - START).days).astype(int).values,
        "frequency": g.size().reindex(ids).fillna(0).astype(int).values,
        "monetary": g["amount"].sum().reindex(ids).fillna(0).round(2).values,
        "support_tickets": tickets,
        "email_open_rate": (1 / (1 + np.exp(-(0.9 * engagement + rng.normal(0, 0.8, n) - 1.0)))).round(3),
        "churned": [0 if c in future else 1 for c in ids],
    })
    cust["avg_order_value"] = (cust["monetary"] / cust["frequency"].where(cust["frequency"] > 0)).round(2)
    return cust, past


def _review_text(rng: np.random.Generator, lang: str, date: pd.Timestamp) -> tuple[str, int]:
    in_618 = pd.Timestamp("2026-06-15") <= date < pd.Timestamp("2026-06-22")
    late = date >= pd.Timestamp("2026-07-01")
    aspects = rng.choice(list(_CLAUSES), size=rng.integers(1, 3), replace=False)
    clauses, score = [], 0
    for a in aspects:
        p_neg = 0.28 + (0.45 if a == "shipping" and in_618 else 0) + (0.3 if a == "quality" and late else 0)
        neg = rng.random() < p_neg
        pos_c, neg_c = _CLAUSES[a][lang]
        pool = neg_c if neg else pos_c
        clauses.append(pool[rng.integers(len(pool))])
        score += -1 if neg else 1
    sep = "，" if lang == "zh" else ", "
    end = "。" if lang == "zh" else "."
    text = sep.join(clauses) + end
    text = text[0].upper() + text[1:] if lang == "en" else text
    rating = int(np.clip(3 + 2 * np.sign(score) - rng.integers(0, 2) * (score > 0) + (score == 0), 1, 5))
    return text, rating


def reviews(rng: np.random.Generator, n: int, customer_ids: list[str]) -> pd.DataFrame:
    # Dates: steady flow plus the 618 festival week at about five times the usual daily volume.
    days = pd.date_range(START, CUTOFF, freq="D")
    weights = np.ones(len(days))
    weights[(days >= "2026-06-15") & (days < "2026-06-22")] = 5.0
    picked = rng.choice(len(days), size=n, p=weights / weights.sum())
    rows = []
    for j, d in enumerate(np.sort(picked)):
        date = days[d] + pd.Timedelta(minutes=int(rng.integers(0, 1440)))
        lang = "zh" if rng.random() < 0.6 else "en"
        text, rating = _review_text(rng, lang, date)
        rows.append((f"R{j:06d}", customer_ids[rng.integers(len(customer_ids))], date.strftime("%Y-%m-%d %H:%M"),
                     lang, _PRODUCTS[rng.integers(len(_PRODUCTS))], rating, text))
    return pd.DataFrame(rows, columns=["review_id", "customer_id", "date", "language", "product", "rating", "review"])


def campaigns(rng: np.random.Generator, weeks: int = 8) -> pd.DataFrame:
    plan = {  # campaign -> (channels, true CVR of A, relative CVR of B)
        "spring_sale": (["search", "social"], 0.040, 1.25),
        "new_arrivals": (["social", "display"], 0.025, 1.00),
        "loyalty_winback": (["email"], 0.060, 1.10),
    }
    ctr = {"search": 0.045, "social": 0.018, "display": 0.006, "email": 0.08}
    cpm = {"search": 30.0, "social": 18.0, "display": 6.0, "email": 60.0}  # e-mail: sending + list costs
    rows = []
    for day in pd.date_range("2026-04-01", periods=weeks * 7, freq="D"):
        for camp, (chans, cvr, lift_b) in plan.items():
            for ch in chans:
                for variant in ("A", "B"):
                    imps = int(rng.poisson(8000 if ch != "email" else 3000))
                    clicks = int(rng.binomial(imps, ctr[ch]))
                    conv = int(rng.binomial(clicks, cvr * (lift_b if variant == "B" else 1.0)))
                    cost = round(imps / 1000 * cpm[ch] * rng.uniform(0.9, 1.1), 2)
                    revenue = round(float(conv * rng.normal(150, 25)), 2) if conv else 0.0
                    rows.append((day.strftime("%Y-%m-%d"), camp, ch, variant, imps, clicks, conv, cost, revenue))
    return pd.DataFrame(rows, columns=["date", "campaign", "channel", "variant", "impressions", "clicks",
                                       "conversions", "cost", "revenue"])


def demo_frames(seed: int = 42, customers: int = 2000, n_reviews: int = 3000) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    cust, orders = customers_and_orders(rng, customers)
    return {"customers": cust, "orders": orders, "reviews": reviews(rng, n_reviews, cust["customer_id"].tolist()),
            "campaigns": campaigns(rng)}


def write_demo_data(outdir: str | Path, seed: int = 42, customers: int = 2000, n_reviews: int = 3000) -> dict[str, Path]:
    """Write customers.csv, orders.csv, reviews.csv, campaigns.csv; returns their paths.

    A file of that name holding anything else (a shop's real orders.csv) is never overwritten: InputError.
    Rewriting the same demo (same seed and sizes) is allowed, so the command can be re-run.
    """
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    data = {name: df.to_csv(index=False).encode("utf-8") for name, df in demo_frames(seed, customers, n_reviews).items()}
    paths = {name: out / f"{name}.csv" for name in data}
    clash = [p.name for name, p in paths.items() if p.exists() and (p.is_dir() or p.read_bytes() != data[name])]
    if clash:
        raise InputError(f"{out} already holds {', '.join(clash)} (not this demo data): not overwriting them; "
                         "choose an empty folder for the demo")
    for name, p in paths.items():
        p.write_bytes(data[name])
    return paths
