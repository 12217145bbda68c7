import numpy as np

from assistant.classifiers.calibration import choose_threshold, fit_temperature, nll, softmax


def _sample(rng, n=4000, k=4):
    """Labels drawn from softmax(true_logits): the true temperature is 1."""
    logits = rng.normal(0, 2, size=(n, k))
    p = softmax(logits)
    y = np.array([rng.choice(k, p=row) for row in p])
    return logits, y


def test_temperature_undoes_overconfidence():
    rng = np.random.default_rng(0)
    logits, y = _sample(rng)
    t = fit_temperature(logits * 3.0, y)  # a model 3x too confident
    assert 2.5 < t < 3.6
    assert nll(logits * 3.0, y, t) < nll(logits * 3.0, y, 1.0)
    # Scaling never changes which label wins.
    assert (softmax(logits * 3.0, t).argmax(1) == logits.argmax(1)).all()


def test_threshold_with_out_of_scope_label():
    # Confident predictions are right; unsure ones are really out-of-scope (label 2).
    probs = np.array([[0.95, 0.03, 0.02], [0.9, 0.05, 0.05], [0.5, 0.3, 0.2], [0.45, 0.35, 0.2]])
    y = np.array([0, 0, 2, 2])
    t = choose_threshold(probs, y, oos_index=2, target_precision=0.9)
    assert 0.5 < t <= 0.9
    final = np.where(probs.max(1) < t, 2, probs.argmax(1))
    assert (final == y).all()


def test_threshold_for_target_precision():
    probs = np.array([[0.99, 0.01], [0.9, 0.1], [0.7, 0.3], [0.6, 0.4]])
    y = np.array([0, 0, 1, 0])  # the 0.7 one is wrong
    assert choose_threshold(probs, y, None, target_precision=0.9) == 0.9
    assert choose_threshold(probs, np.array([0, 0, 0, 0]), None, target_precision=0.9) == 0.0
