"""The ground floor: settings, the column catalogue, the Debezium parser, the Kafka records.

Rule: imports nothing of the project (`make layers` checks it), so every other package may
read it and parsing a change event never depends on the database layer.
"""
