"""The local stack of `chinook-pulse up`: PostgreSQL, Kafka, Connect+Debezium and the project's
own processes, each a component with a pid file, a log and a health check."""
