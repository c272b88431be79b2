output "queue_urls" {
  description = "URL of each queue, by its name in topology.yaml (e.g. GRAPHNODE_REQUEST_QUEUE_URL = queue_urls[\"graph-req\"])."
  value       = { for name, queue in aws_sqs_queue.this : name => queue.url }
}

output "queue_arns" {
  description = "ARN of each queue, by its name in topology.yaml."
  value       = { for name, queue in aws_sqs_queue.this : name => queue.arn }
}

output "queue_names" {
  description = "Actual SQS name of each queue (with queue_name_prefix), by its name in topology.yaml."
  value       = { for name, queue in aws_sqs_queue.this : name => queue.name }
}

output "dlq_urls" {
  description = "URL of each dead-letter queue, by its DLQ name in topology.yaml."
  value       = { for name, spec in local.queues : spec.dlq.name => aws_sqs_queue.dlq[name].url }
}

output "dlq_arns" {
  description = "ARN of each dead-letter queue, by its DLQ name in topology.yaml."
  value       = { for name, spec in local.queues : spec.dlq.name => aws_sqs_queue.dlq[name].arn }
}

output "bucket_name" {
  description = "Name of the payload bucket (GRAPHNODE_PAYLOAD_BUCKET)."
  value       = aws_s3_bucket.payloads.id
}

output "bucket_arn" {
  description = "ARN of the payload bucket."
  value       = aws_s3_bucket.payloads.arn
}

output "api_policy_arn" {
  description = "IAM policy to attach to the API's role."
  value       = aws_iam_policy.api.arn
}

output "gpu_worker_policy_arn" {
  description = "IAM policy to attach to the GPU workers' role."
  value       = aws_iam_policy.gpu_worker.arn
}

output "result_worker_policy_arn" {
  description = "IAM policy to attach to the result workers' role."
  value       = aws_iam_policy.result_worker.arn
}

output "alarm_arns" {
  description = "Queue-depth and DLQ alarms, by purpose."
  value = merge(
    { request_backlog_high = aws_cloudwatch_metric_alarm.request_backlog_high.arn },
    { for name, alarm in aws_cloudwatch_metric_alarm.dlq_not_empty : "${local.queues[name].dlq.name}_not_empty" => alarm.arn },
    { for name, alarm in aws_cloudwatch_metric_alarm.oldest_message_age : "${name}_oldest_message_age" => alarm.arn },
    local.autoscaling_enabled ? {
      request_unserved = aws_cloudwatch_metric_alarm.request_unserved[0].arn
      request_idle     = aws_cloudwatch_metric_alarm.request_idle[0].arn
    } : {},
  )
}

output "sns_topic_arn" {
  description = "The SNS topic every alarm notifies (created here, or var.sns_topic_arn)."
  value       = var.create_sns_topic ? aws_sns_topic.alarms[0].arn : var.sns_topic_arn
}

output "role_arns" {
  description = "IAM role of each workload (api, gpu-worker, result-worker): the eks.amazonaws.com/role-arn annotation of its Kubernetes service account, or its ECS task role. Empty when create_roles is false."
  value       = { for name, role in aws_iam_role.workload : name => role.arn }
}

output "keda_operator_role_arn" {
  description = "IAM role of the KEDA operator's service account (reads the request queue's depth); null without IRSA."
  value       = one(aws_iam_role.keda[*].arn)
}

output "environment" {
  description = "GRAPHNODE_* settings every role needs to find these resources."
  value = {
    GRAPHNODE_AWS_REGION        = data.aws_region.current.name
    GRAPHNODE_REQUEST_QUEUE     = aws_sqs_queue.this[local.request_queue].name
    GRAPHNODE_RESULT_QUEUE      = aws_sqs_queue.this[local.result_queue].name
    GRAPHNODE_REQUEST_QUEUE_URL = aws_sqs_queue.this[local.request_queue].url
    GRAPHNODE_RESULT_QUEUE_URL  = aws_sqs_queue.this[local.result_queue].url
    GRAPHNODE_PAYLOAD_BUCKET    = aws_s3_bucket.payloads.id
  }
}

output "events_topic_arn" {
  description = "The SNS topic of Celery's events (GRAPHNODE_EVENTS_TOPIC is its name)."
  value       = aws_sns_topic.events.arn
}

output "event_queue_urls" {
  description = "URL of each events reader's queue, by its name in topology.yaml (GRAPHNODE_EVENTS_QUEUE)."
  value       = { for name, queue in aws_sqs_queue.events : name => queue.url }
}

output "observability_policy_arns" {
  description = "Attach worker to both worker roles, operator to Flower's and operators' roles."
  value = {
    worker   = aws_iam_policy.worker_observability.arn
    operator = aws_iam_policy.operator.arn
  }
}
