"""Human review: choosing sentences for annotators and reading their labels back (`review`), and
the Label Studio REST client (`label_studio`). Imports `serving`, `analysis` and `weak`."""
