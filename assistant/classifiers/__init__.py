"""Intent and sentiment classifiers (zh + en) that decide where every customer message goes.

    from assistant.classifiers import TextClassifier, load_classifier, default_classifiers, detect_language
    intent_clf, sentiment_clf = default_classifiers(settings.classifiers)
    intent_clf.predict(["我的订单到哪了？"])[0]   # Prediction(label='order_status', score=0.93, ...)

CLI: `python -m assistant.classifiers train|predict|eval` (see docs/classifiers.md).
"""

from assistant.classifiers.config import ClassifierConfig
from assistant.classifiers.dataset import LabelledTexts, read_labelled_csv
from assistant.classifiers.defaults import default_classifiers
from assistant.classifiers.model import Prediction, TextClassifier, load_classifier, train_classifier
from assistant.language import detect_language

__all__ = [
    "ClassifierConfig",
    "LabelledTexts",
    "Prediction",
    "TextClassifier",
    "default_classifiers",
    "detect_language",
    "load_classifier",
    "read_labelled_csv",
    "train_classifier",
]
