"""What an operator or a user runs: the ``graphnode`` CLI and its HTTP client, the DLQ
tools and the local dev stack. Nothing else imports it.
"""
