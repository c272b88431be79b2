"""The generators of the sample exports bundled in graphnode/samples/ (not shipped)."""
