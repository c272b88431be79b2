output "environment" {
  description = "GRAPHNODE_* settings for the roles (add GRAPHNODE_AWS_ENDPOINT_URL = the emulator)."
  value       = module.graphnode.environment
}

output "queue_urls" {
  description = "URL of each queue, by its name in topology.yaml."
  value       = module.graphnode.queue_urls
}

output "dlq_urls" {
  description = "URL of each dead-letter queue, by its DLQ name in topology.yaml."
  value       = module.graphnode.dlq_urls
}

output "bucket_name" {
  description = "The payload bucket."
  value       = module.graphnode.bucket_name
}

output "role_arns" {
  description = "IAM role of each workload."
  value       = module.graphnode.role_arns
}

output "sns_topic_arn" {
  description = "The SNS topic the alarms notify."
  value       = module.graphnode.sns_topic_arn
}
