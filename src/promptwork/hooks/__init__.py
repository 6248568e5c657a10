"""Outgoing webhooks: signed deliveries of the store's event outbox, retried with backoff.

* :mod:`promptwork.hooks.signing`: the signature header and how a receiver checks it.
* :mod:`promptwork.hooks.delivery`: sending the deliveries due, logging every attempt.
"""
