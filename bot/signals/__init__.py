"""Upstream health and sovereignty signals: pure computations over what the sources observed.

``people`` (maintainers, bus and elephant factors), ``licences`` (classes and drift),
``governance`` (foundation, company, community, individual), ``funding`` (FUNDING.yml,
funding.json, npm ``funding``), ``registry`` (cached registry documents) and ``assemble``
(one upstream's signals from one scan). No I/O here: ``bot.sources`` fetches, ``bot.store`` keeps.
"""
