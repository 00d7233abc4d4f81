"""The three event labels, in the order of every label vector, score column and model output.

Their definitions are the annotation guidelines, `resources/LABELS.md`.
"""

LABELS = ("attack", "casualty", "withdrawal_talks")
