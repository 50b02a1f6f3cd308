"""Rainy/clean data without torch: the rain engine, pair finding, background loading, fixed folders.

- :mod:`~edgederain.data.synth` (with :mod:`~edgederain.data.rain_layers`,
  :mod:`~edgederain.data.rain_config`, :mod:`~edgederain.data.rain_presets`): synthetic rain.
- :mod:`~edgederain.data.pairs`: the one finder of paired rainy/clean folders.
- :mod:`~edgederain.data.datasets`: background photos and the datasets training samples from.
- :mod:`~edgederain.data.synth_folder`: write a fixed synthetic paired set.

numpy and Pillow only; training (``edgederain.train``), export verification and calibration use it.
"""
