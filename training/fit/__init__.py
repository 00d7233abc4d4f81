"""Training: shared Trainer callbacks (`callbacks`), masked-LM pretraining of the encoder
(`pretraining`), fine-tuning on the weak labels (`trainer`), and self-training rounds
(`self_training`). Imports every room above it but `serving` and `review`: a finished training
run evaluates itself and writes its card."""
