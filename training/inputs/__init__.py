"""Reading what users bring: articles in any supported form, cleaned and split into sentences
(`text`, `corpus`), and hand-labelled gold files (`gold`). Imports only the base modules."""
