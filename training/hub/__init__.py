"""The Hugging Face Hub: the model card (`model_card`) and publishing (`publish`). Imports `model`
and `weak` (the card lists the rules)."""
