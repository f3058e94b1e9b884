"""The steps shared by the one-factor hierarchical sweeps that read every row (binary: kernels/binary/hier.py;
Student-t: kernels/robust/hier.py).  Each family's latent pass turns its rows into per-group weighted
statistics G_j = X_j' W_j X_j and h_j; ``steps.hier_steps`` then draws beta_j, alpha, mu and the group scale
(with the interweaving) from them, the same code for both.  The NumPy twin is gibbsreg.rowhier."""
