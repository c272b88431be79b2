"""The contract every role shares: the messages and their envelopes, the S3 claim checks,
the graph's shape, the job lifecycle, the queues and bucket (topology.yaml), the export
formats a person uploads and the bearer tokens that name a user.

It imports only ``graphnode.settings`` and ``graphnode.aws``: a change here is a change of
the wire or of the data, seen by every role.
"""
