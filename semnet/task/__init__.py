"""Task accuracy on decoded images: a small classifier per data set (``classifier``:
the embedded photos' CNN and the checkpoint format; ``resnet``: the CIFAR-10 net),
the command that trains them (``train_classifier``, with the CIFAR-10 recipe in
``fast_recipe``). See ``models/classifier_embedded.md`` and
``models/classifier_cifar10.md``."""
