"""Private numba kernels of povsim.

Everything in this package takes only NumPy arrays and scalars and knows nothing
of xarray, dataclasses or plotting (STYLE.md, layer 1). The public modules in
:mod:`povsim` validate inputs, pack parameters, call these kernels and wrap the
results.
"""
