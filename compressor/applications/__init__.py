"""What an autoencoder bundle is good for besides compression, one module per application:

* :mod:`~compressor.applications.denoise`: the reconstruction blended with classical smoothers
  (:mod:`~compressor.applications.smoothers`) as a cleaned signal, the blend chosen by Stein's unbiased
  risk estimate (:mod:`~compressor.applications.sure`) when the noise std is known.
* :mod:`~compressor.applications.features`: latent vectors as learned features.
* :mod:`~compressor.applications.anomaly`: reconstruction error as an anomaly score, with a threshold
  calibrated at training time; :mod:`~compressor.applications.nab_scoring` scores detections the NAB way.
* :mod:`~compressor.applications.generate`: new records drawn from a variational model's prior.
* :mod:`~compressor.applications.tuning`: search latent size and depth for the smallest payload that
  meets a quality target.

Every function takes a loaded :class:`~compressor.bundle.Bundle` and records in original units.
"""
