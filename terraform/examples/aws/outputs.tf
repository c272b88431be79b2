output "environment" {
  description = "GRAPHNODE_* settings for the API, GPU worker and result worker."
  value       = module.graphnode.environment
}

output "role_arns" {
  description = "IAM role of each workload: eks.amazonaws.com/role-arn of its service account, or its ECS task role."
  value       = module.graphnode.role_arns
}

output "keda_operator_role_arn" {
  description = "Role for the KEDA operator's service account (eks.amazonaws.com/role-arn)."
  value       = module.graphnode.keda_operator_role_arn
}

output "sns_topic_arn" {
  description = "The SNS topic the alarms notify."
  value       = module.graphnode.sns_topic_arn
}

output "dlq_urls" {
  description = "URL of each dead-letter queue (for `graphnode dlq show`)."
  value       = module.graphnode.dlq_urls
}
