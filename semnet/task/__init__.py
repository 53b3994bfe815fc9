"""Task accuracy on decoded images: a small classifier per data set (``classifier``),
the command that trains it (``train_classifier``), and its accuracy on a batch of
images (``accuracy``). See ``models/classifier_embedded.md``."""
