"""Weak supervision: the cue-word lexicon, the labeling functions and their vote matrix
(`lexicon`, `labeling`), the label model that turns votes into labels (`label_model`), and the
analysis table of the rules (`lf_report`). Imports the base modules and `inputs`."""
