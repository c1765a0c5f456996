"""latentwire: streaming compression for Apache Kafka with autoencoder latents.

The ``compressor`` package holds everything that is not Kafka: data loading, models, training, the model
bundle, quantization, the wire envelope, metrics, configuration and the command line.
"""

__version__ = "0.1.0"
