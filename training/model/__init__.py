"""The model object: tokenizer vocabulary (`vocabulary`), the BERT classifier and its text
preprocessing (`modeling`, `local_bert`), the model folder contract (`model_folder`), and
`EventClassifier`, which loads a folder and predicts (`inference`). Imports `inputs` and base."""
