"""Processes over time: how a link's channel evolves while the simulation runs.

- :mod:`~semnet.channels.processes.doppler`: Doppler shift, Gauss–Markov ``rho``,
  coherence times;
- :mod:`~semnet.channels.processes.doppler_track`: Doppler shifts that follow the users'
  trajectories (``links.channel.doppler_speed: trajectory``);
- :mod:`~semnet.channels.processes.gauss_markov`, :mod:`~semnet.channels.processes.jakes`:
  the unit complex-Gaussian scatter ``g(t)`` of one link;
- :mod:`~semnet.channels.processes.timevarying`: the time correlations registered in
  :data:`semnet.registry.time_correlations` and every link's channel over time
  (large-scale SNR from the network, the fading law applied to ``g(t)``).

Nothing here imports torch or the network layer (it is handed the network's
large-scale table, and with it the mobility).
"""
