"""Digital separation baselines: each image compressed by a real codec (JPEG, WebP,
JPEG 2000 through Pillow) to the bits a link's channel state allows over the same
``k`` channel uses as a JSCC image, at Shannon capacity or at a practical 5G NR
CQI rate, and scored on the JSCC evaluator's comparison states
(``docs/features/digital-baselines.md``).

Modules: ``image_codecs`` (the registered codecs), ``ladder`` (sizes per quality, the best
that fits), ``link_budget`` (bits per image and outage), ``baseline`` (one link's
sends, fallbacks included), ``states`` (the comparison states replayed),
``evaluator`` (every baseline on every link: ``summary.json``'s ``digital``). The CQI
rates and their SNR thresholds (with sources) are :mod:`semnet.net.cqi_table`, which the
links' link adaptation (``links.rate.mode: mcs``) shares.
"""
