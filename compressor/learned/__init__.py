"""The learned probability model of the error-bounded codec (envelope kind 3 for a version-1 model, 6 for
version 2, 8 for version 3, and 9 for version 3 at the bundle's lossless bound): per value, an integer MLP predicts it from the record's causal context in
every column, and a scale class from the context's magnitudes picks a fitted residual table; a compiled
rANS codes the residuals (see :mod:`compressor.learned.kernel`).

Modules: ``kernel`` (compiled loops), ``model`` (the stored model and its integer form), ``coder`` (streams),
``records`` (kind-3, 6, 8 and 9 payloads), ``choice`` (where the encoder still runs the classical coder), ``train``
(fitting), ``bundle`` (the bundle section). Nothing is imported here, so loading a bundle does not load the
compiler.
"""
