"""The write replay queue: run writes other than metric batches taken while the primary
database is unreachable, kept in RabbitMQ and applied in order once it is back."""
