"""latentwire: streaming compression for Apache Kafka with autoencoder latents.

The ``compressor`` package holds compression and nothing about Kafka: data loading, models, training, the
model bundle, quantization, the error-bounded codec, the wire envelope and the applications built on a
trained model. It imports no other package of this project.
"""

__version__ = "0.1.0"
