"""Write results where copywriters use them: JSON, a CSV with one row per variant, and a Google Ads
Editor CSV for responsive search ads (Headline 1..15, Description 1..4, Path 1/2 per ad row).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from urllib.parse import urlsplit

from assistant.adcopy.channels import ChannelSpec
from assistant.adcopy.config import SCORE_NAMES
from assistant.adcopy.generator import GenerationResult
from assistant.adcopy.sheet import excel_safe, is_asset
from assistant.errors import InputError
from assistant.tables import looks_excel_rounded

RSA_HEADLINES, RSA_DESCRIPTIONS = 15, 4
GOOGLE_ADS_COLUMNS = (
    ["Campaign", "Ad group", "Ad type"]
    + [f"Headline {i}" for i in range(1, RSA_HEADLINES + 1)]
    + [f"Description {i}" for i in range(1, RSA_DESCRIPTIONS + 1)]
    + ["Path 1", "Path 2", "Final URL"]
)


# Google Ads Editor refuses an ad row without a Final URL, so every path that writes its layout says when one is
# missing rather than leaving the copywriter to find out at import.
NO_FINAL_URL = "Google Ads Editor needs a Final URL for every ad"


def check_url(url: str, what: str = "--url") -> str:
    """`url` stripped, when it is an http(s) address with a host; else an InputError naming `what`."""
    text = (url or "").strip()
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c.isspace() for c in text):
        raise InputError(f"{what} must be an http(s) address such as https://shop.example/linen, got {url!r}")
    return text


def is_web_address(url: str) -> bool:
    """Whether `url` is an http(s) address an import file takes as a Final URL / Link."""
    try:
        check_url(url)
    except InputError:
        return False
    return True


def result_json(result: GenerationResult) -> dict:
    """`{"channel": ..., "variants": [{"fields": {...}, "scores": {...}}, ...]}` plus counts and notes."""
    return result.as_dict()


def write_json(result: GenerationResult, path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(result_json(result), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return p


def write_csv(result: GenerationResult, path: str | Path) -> Path:
    """One row per variant: rank, every field, every score ('utf-8-sig' so Excel shows Chinese)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fields = list(dict.fromkeys(f for v in result.variants for f in v.fields))
    scores = [s for s in (*SCORE_NAMES, "total") if any(s in v.scores for v in result.variants)]
    with p.open("w", newline="", encoding="utf-8-sig") as fh:
        w = csv.writer(fh)
        w.writerow(["rank", *fields, *(f"score_{s}" for s in scores), "merged"])
        for v in result.variants:
            w.writerow([v.rank, *(v.fields.get(f, "") for f in fields), *(v.scores.get(s, "") for s in scores), v.merged])
    return p


def google_ads_rows(result: GenerationResult, campaign: str = "", ad_group: str = "Ad copy",
                    final_url: str = "") -> list[dict[str, str]]:
    """Pack ranked headlines/descriptions into RSA ads: 15 headlines and 4 descriptions per ad row."""
    if result.channel != "google_rsa":
        raise InputError(f"the Google Ads Editor layout is for google_rsa results, not {result.channel}")
    heads = list(dict.fromkeys(v.fields["headline"] for v in result.variants if v.fields.get("headline")))
    descs = list(dict.fromkeys(v.fields["description"] for v in result.variants if v.fields.get("description")))
    top = result.variants[0].fields if result.variants else {}
    rows = []
    n_ads = max(1, -(-len(heads) // RSA_HEADLINES)) if heads else 0
    for a in range(n_ads):
        row = dict.fromkeys(GOOGLE_ADS_COLUMNS, "")
        row.update({"Campaign": _name(campaign) or "Ad copy", "Ad group": _name(ad_group), "Ad type": "Responsive search ad",
                    "Path 1": top.get("path1", ""), "Path 2": top.get("path2", ""), "Final URL": final_url})
        for i, h in enumerate(heads[a * RSA_HEADLINES:(a + 1) * RSA_HEADLINES], 1):
            row[f"Headline {i}"] = h
        chunk = descs[a * RSA_DESCRIPTIONS:(a + 1) * RSA_DESCRIPTIONS] or descs[:RSA_DESCRIPTIONS]
        for i, d in enumerate(chunk, 1):
            row[f"Description {i}"] = d
        rows.append(row)
    return rows


def rsa_shortfall(heads: int, descs: int, fix: str) -> str:
    """'' when Google takes a responsive search ad with this many headlines and descriptions; else what it lacks,
    with `fix` (how to get more assets)."""
    if heads >= RSA_MIN_HEADLINES and descs >= RSA_MIN_DESCRIPTIONS:
        return ""
    return (f"{_count(heads, 'headline')} and {_count(descs, 'description')}; Google needs at least "
            f"{RSA_MIN_HEADLINES} and {RSA_MIN_DESCRIPTIONS} ({fix})")


def crowded_ad_groups(rows: list[dict[str, str]]) -> list[str]:
    """Google serves at most 3 enabled responsive search ads in an ad group: `generate --n 50` packed 4 into one, and
    a feed's products that share a title (one per colour) share its ad group."""
    groups: dict[str, int] = {}
    for row in rows:
        groups[row.get("Ad group", "")] = groups.get(row.get("Ad group", ""), 0) + 1
    return [f"ad group {group!r}: {count} responsive search ads; Google allows {RSA_PER_AD_GROUP} enabled in one ad "
            "group (pause the others in Google Ads Editor, or rename their ad group)"
            for group, count in groups.items() if count > RSA_PER_AD_GROUP]


def google_ads_notes(rows: list[dict[str, str]], fix: str) -> list[str]:
    """The ad rows Google Ads Editor will refuse for too few headlines or descriptions, one line each."""
    notes = crowded_ad_groups(rows)
    for n, row in enumerate(rows, 1):
        heads = sum(bool(row.get(f"Headline {i}")) for i in range(1, RSA_HEADLINES + 1))
        descs = sum(bool(row.get(f"Description {i}")) for i in range(1, RSA_DESCRIPTIONS + 1))
        if short := rsa_shortfall(heads, descs, fix):
            notes.append(f"ad {n}: {short}")
    return notes


def write_google_ads_csv(result: GenerationResult, path: str | Path, **kw) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=GOOGLE_ADS_COLUMNS)
        w.writeheader()
        w.writerows(google_ads_rows(result, **kw))
    return p


def write_result(result: GenerationResult, path: str | Path, final_url: str = "") -> list[Path]:
    """By extension: .json, or .csv (plus `<stem>.google_ads.csv` next to it for google_rsa, its Final URL
    `final_url`)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".json":
        return [write_json(result, p)]
    if suffix == ".csv":
        out = [write_csv(result, p)]
        if result.channel == "google_rsa" and result.variants:
            out.append(write_google_ads_csv(result, p.with_name(p.stem + ".google_ads.csv"), final_url=final_url))
        return out
    raise InputError(f"output must end in .csv or .json, got {p.name!r}")


def _name(text) -> str:
    """A campaign, ad group or ad name as the import files carry it: a feed title starting with =, +, - or @ runs
    as a formula when the file is opened in Excel or Google Sheets, and a name needs no such sign (ad texts have
    theirs dropped by the lint rule import.formula-start)."""
    return str(text or "").lstrip("=+-@ \t\r")


# ---- feed assets in each channel's import layout ------------------------------------------------------------
# Meta Ads Manager's bulk import sheet: Body is the primary text, Title the headline, Link Description the description
# under it. UNVERIFIED against Meta's own documentation: no Meta page that lists the import sheet's columns was found.
# Meta's Marketing API names the same three texts message, name and description
# (https://developers.facebook.com/docs/marketing-api/reference/ad-creative-link-data), and third-party tools that
# read Ads Manager's own export use these column names, but the template Ads Manager offers for download is the
# authority: compare this header with it before a first import. The field limits (channels.yaml meta_feed) are the
# lengths Meta's Ads Guide recommends before the feed cuts a text off (https://www.facebook.com/business/ads-guide;
# they differ by placement), not lengths the import is known to refuse.
META_COLUMNS = ["Campaign Name", "Ad Set Name", "Ad Name", "Body", "Title", "Link Description", "Link"]
PLAIN_COLUMNS = ["row_id", "title", "url", "channel", "language", "variant"]  # then the channel's fields
LAYOUTS = {"google_rsa": "google_ads_editor", "meta_feed": "meta_bulk"}  # every other channel: plain CSV
RSA_MIN_HEADLINES, RSA_MIN_DESCRIPTIONS = 3, 2  # Google refuses a responsive search ad with fewer
RSA_PER_AD_GROUP = 3  # enabled responsive search ads Google allows in one ad group


def layout_for(channel: str) -> str:
    return LAYOUTS.get(channel, "plain")


def import_rows(assets: list[dict], channel: str, campaign: str = "",
                fields: list[str] | None = None) -> tuple[list[str], list[dict], list[str]]:
    """(columns, rows, notes) of the import file for these (already chosen) asset rows of one channel. `fields`:
    the sheet columns of the channel's fields (`sheet_column`); the plain layout holds those and no other column
    of the sheet (a reviewer's own "comment" column is not sent on with the copy)."""
    assets = [a for a in assets if a.get("channel") == channel and is_asset(a)]
    campaign = campaign or "Ad copy"
    notes: list[str] = []
    layout = layout_for(channel)
    if layout == "google_ads_editor":
        rows = []
        for row_id, group in _by_product(assets, notes).items():
            heads = list(dict.fromkeys(a["headline"] for a in group if a.get("headline")))
            descs = list(dict.fromkeys(a["description"] for a in group if a.get("description")))
            # One RSA holds 15 headlines and 4 descriptions (and an ad group at most 3 RSAs, so no second ad):
            # the sheet's first ones (its best ranked) go in, and the rest are named rather than dropped unseen.
            over = [f"{_count(len(texts) - cap, noun)} past the first {cap}"
                    for texts, cap, noun in ((heads, RSA_HEADLINES, "headline"),
                                             (descs, RSA_DESCRIPTIONS, "description")) if len(texts) > cap]
            if over:
                notes.append(f"{row_id}: an RSA holds {RSA_HEADLINES} headlines and {RSA_DESCRIPTIONS} descriptions; "
                             f"left out {' and '.join(over)} approved (approve fewer to choose which)")
            heads, descs = heads[:RSA_HEADLINES], descs[:RSA_DESCRIPTIONS]
            # written all the same: Google Ads Editor shows the ad as an error to finish there
            if short := rsa_shortfall(len(heads), len(descs), "approve more of its assets, write the missing ones "
                                      "into the sheet, or run the feed with more variants per product: "
                                      "--n, the Copywriter tab's slider"):
                notes.append(f"{row_id}: {short}")
            # The product's cells from whichever of its asset rows has them: a reviewer who typed the missing URL
            # into one row of three got an ad without a Final URL when it was not the first.
            def first(name: str, group=group) -> str:
                return next((str(a[name]).strip() for a in group if str(a.get(name) or "").strip()), "")

            row = dict.fromkeys(GOOGLE_ADS_COLUMNS, "")
            row.update({"Campaign": _name(campaign), "Ad group": _name(first("title") or row_id),
                        "Ad type": "Responsive search ad", "Path 1": group[0].get("path1", ""),
                        "Path 2": group[0].get("path2", ""), "Final URL": first("url")})
            if not row["Final URL"]:
                notes.append(f"{row_id}: no URL; {NO_FINAL_URL} (fill the sheet's url column, or add one)")
            row.update({f"Headline {i}": h for i, h in enumerate(heads, 1)})
            row.update({f"Description {i}": d for i, d in enumerate(descs, 1)})
            rows.append(row)
        return list(GOOGLE_ADS_COLUMNS), rows, notes + crowded_ad_groups(rows)
    if layout == "meta_bulk":
        # a product's URL typed into one of its asset rows is the link of all of them (one product, one page)
        links = {id(a): next((str(b["url"]).strip() for b in group if str(b.get("url") or "").strip()), "")
                 for group in _by_product(assets).values() for a in group}
        rows = [{"Campaign Name": _name(campaign), "Ad Set Name": _name(a.get("title") or a["row_id"]),
                 "Ad Name": _name(f"{a['row_id']}-{a['variant']}"), "Body": a.get("primary_text", ""),
                 "Title": a.get("headline", ""), "Link Description": a.get("description", ""),
                 "Link": str(a.get("url") or "").strip() or links[id(a)]}
                for a in assets]
        notes += [f"{r['Ad Name']}: no URL; Meta needs a link for every ad (fill the sheet's url column, or add one)"
                  for r in rows if not r["Link"]]
        return list(META_COLUMNS), rows, notes
    present = [k for a in assets for k in a if k not in ("row_id", "title", "url", "language", "channel", "variant",
                                                          "score", "fixes", "check", "notes", "approved")]
    columns = [*PLAIN_COLUMNS, *(k for k in dict.fromkeys(present) if fields is None or k in fields)]
    # The plain file is opened in Excel: the feed's own cells (a supplier's title "=HYPERLINK(…)") must not run
    # there. The ad texts are pasted into WeChat or a mail tool as written, so they stay as they are.
    rows = [{c: excel_safe(a.get(c, "")) if c in PLAIN_COLUMNS else a.get(c, "") for c in columns} for a in assets]
    if campaign != "Ad copy":  # --campaign names the rows of a plain file too (a WeChat or e-mail schedule)
        columns.append("campaign")
        for row in rows:
            row["campaign"] = excel_safe(campaign)
    return columns, rows, notes


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _by_product(assets: list[dict], notes: list[str] | None = None) -> dict[str, list[dict]]:
    """Asset rows by product: by row id, and by title where one id holds several products' titles. Excel saves a
    long numeric id rounded (Taobao's 612345678901 as 6.12346E+11), so after a save in Excel many products shared
    one id and their headlines went into one ad; split by title, each keeps its own (`notes` says so)."""
    out: dict[str, list[dict]] = {}
    for a in assets:
        out.setdefault(a["row_id"], []).append(a)
    for rid, group in list(out.items()):
        titles = [t for t in dict.fromkeys(str(a.get("title") or "").strip() for a in group) if t]
        if len(titles) < 2 or not looks_excel_rounded(rid):  # a title a reviewer corrected in one row is no split
            continue
        del out[rid]
        for a in group:  # a row a person added without a title goes with the product above it
            title = str(a.get("title") or "").strip() or titles[0]
            out.setdefault(f"{rid} ({title})", []).append(a)
        if notes is not None:
            notes.append(f"{rid}: one row id for {len(titles)} products ({', '.join(map(repr, titles[:3]))}"
                         f"{' …' if len(titles) > 3 else ''}): Excel rounded the long numeric ids when it saved the "
                         "sheet; exported apart by title (import the sheet into Excel with row_id as Text)")
    return out


def write_import(assets: list[dict], channel: str, path: str | Path, campaign: str = "",
                 fields: list[str] | None = None) -> tuple[Path, int, list[str]]:
    """The import file (Google Ads Editor CSV, Meta bulk CSV, or plain CSV): (path, rows written, notes)."""
    columns, rows, notes = import_rows(assets, channel, campaign, fields)
    if not rows:
        raise InputError(f"nothing to export for {channel}: no approved asset (mark the approved column, or use --all)")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    # Google Ads Editor and Meta read UTF-8; the plain sheet is for people, so Excel's BOM helps there.
    encoding = "utf-8" if layout_for(channel) != "plain" else "utf-8-sig"
    with p.open("w", newline="", encoding=encoding) as fh:
        w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return p, len(rows), notes


def refuse_foreign_output(path: str | Path, channel: str) -> None:
    """Refuse to replace an existing file unless its header is the one `export` writes for this channel's layout:
    a product feed, a review sheet or a budget at that path would be lost, and an import file is cheap to redo."""
    from assistant.tables import read_table

    p = Path(path)
    if not p.is_file() or p.stat().st_size == 0:
        return
    layout, hint = layout_for(channel), "move it away or choose another --output"
    try:
        header, _ = read_table(p)
    except InputError:
        raise InputError(f"--output {p} exists and cannot be read as an import file; {hint}") from None
    ours = {"google_ads_editor": header == GOOGLE_ADS_COLUMNS, "meta_bulk": header == META_COLUMNS,
            # the plain layout's field columns are the channel's, so only its leading columns are fixed
            "plain": header[:len(PLAIN_COLUMNS)] == PLAIN_COLUMNS}[layout]
    if not ours:
        raise InputError(f"--output {p} exists and is not a {layout} import file written by `export` (other "
                         f"columns); {hint}")


def bad_urls(assets: list[dict]) -> tuple[list[dict], list[str]]:
    """(the assets whose url is empty or an http(s) address, one line per other one): "www.shop.example/a1" went
    into an import file's Final URL, which Google Ads Editor refuses at import (the Copywriter tab's export already
    left such an asset out)."""
    kept, bad = [], []
    for a in assets:
        url = str(a.get("url") or "").strip()
        if url and is_asset(a) and not is_web_address(url):
            bad.append(f"row {a.get('row_id', '?')} variant {a.get('variant', '?')}: url {url!r} is no http(s) "
                       "address (fix the sheet's url column)")
            continue
        kept.append(a)
    return kept, bad


def failing_fields(assets: list[dict], channel: ChannelSpec, linter) -> tuple[list[dict], list[str]]:
    """(the assets whose every field fits the channel's limit and passes the lint, one line per failing field).

    The sheet is edited by hand after `feed` checked it, so an import file is only as safe as this check: a text
    the platform refuses (too long) or the law forbids must not reach the import. `linter`: a lint.Linter."""
    from assistant.adcopy.checks import TOO_LONG, problems
    from assistant.adcopy.sheet import is_asset, sheet_column
    from assistant.adcopy.text import detect_language

    kept, failing = [], []
    for a in assets:
        lines = []
        if not is_asset(a):  # a product that got no copy: its name is no ad text to hold to a field's limit
            kept.append(a)
            continue
        for name, spec in channel.fields.items():
            text = str(a.get(sheet_column(name)) or "").strip()
            if not text:
                continue
            # As the app's export does: an edit is linted in the language it is written in (a zh fix to an en
            # row still meets the ad law). Of `problems`, only the limit binds a person's text; the rest judge a
            # model's draft against its brief (too short, echoes the prompt), which a reviewer may overrule.
            language = detect_language(text)
            why = [f"{TOO_LONG} ({spec.measure(text)} > {spec.limit} {spec.unit})"
                   for p in problems(text, spec, language, [], []) if p == TOO_LONG]
            hits: dict[str, list[str]] = {}  # "google.capitalization 'BEST', 'EVER'": one rule named once
            for v in linter.named(str(a.get("title") or "")).check(text, language, channel.id, name):
                hits.setdefault(v.rule, []).append(repr(v.match))
            why += [f"{rule} {', '.join(matches)}" for rule, matches in hits.items()]
            if why:
                lines.append(f"row {a.get('row_id', '?')} variant {a.get('variant', '?')} {name}: {'; '.join(why)}")
        if lines:
            failing += lines
        else:
            kept.append(a)
    return kept, failing
