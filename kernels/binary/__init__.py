"""Kernels of the binary models (probit by Albert & Chib, logistic by Polya-Gamma augmentation).

Modules: ``latent`` (the truncated-normal and Polya-Gamma draws), ``flat`` (the sweep of the flat model, the
chains shared out between Python threads by ``kernels/pool.py``).  Their NumPy twins live in
``gibbsreg.models.binary`` (``latent.py``, ``reference.py``).

Streams, per sweep and chain, in order (the twin calls its Generators in the same order):

* the chain's **gamma** stream carries the latent draws, row by row (row i's trials one after another):
  probit, one truncated normal per trial; logistic, one PG(1, c) per trial.  These are rejection samplers,
  so the count of numbers varies with the state; nothing is ever drawn ahead on this stream.
* the chain's **normal** stream gives exactly p standard normals per sweep, for beta | latent
  (beta = L^{-T} (L^{-1} b + z), A = L L'), after the latent draws.

A failed factorisation (the precision lost positive definiteness) still draws its p normals, so the streams
stay aligned, and is counted; the runner then raises.
"""
