################################################################################
# Celery events for Flower and `celery -A graphnode events` (topology.yaml `events`):
# workers publish to one SNS topic; each reader has its own SQS queue, subscribed with raw
# delivery, keeping events only briefly.
################################################################################

locals {
  events          = local.topology.events
  event_consumers = local.events.consumers
  # Where each worker keeps its record (graphnode/runtime/beacon.py WORKERS_PREFIX).
  worker_records = "ops/workers/"
}

resource "aws_sns_topic" "events" {
  # checkov:skip=CKV_AWS_26:Encrypted with var.kms_key_arn when given. Celery's events carry task names, the contract taskId (argsrepr), states and runtimes, never a payload; they live 5 minutes in their queues.
  name              = "${var.queue_name_prefix}${local.events.topic}"
  kms_master_key_id = var.kms_key_arn

  tags = var.tags
}

resource "aws_sqs_queue" "events" {
  for_each = local.event_consumers

  name                      = "${var.queue_name_prefix}${each.key}"
  message_retention_seconds = each.value.message_retention_seconds
  sqs_managed_sse_enabled   = true
}

data "aws_iam_policy_document" "events_queue" {
  for_each = local.event_consumers

  statement {
    sid       = "EventsTopicSends"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.events[each.key].arn]
    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_sns_topic.events.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "events" {
  for_each = local.event_consumers

  queue_url = aws_sqs_queue.events[each.key].id
  policy    = data.aws_iam_policy_document.events_queue[each.key].json
}

resource "aws_sns_topic_subscription" "events" {
  for_each = local.event_consumers

  topic_arn            = aws_sns_topic.events.arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.events[each.key].arn
  raw_message_delivery = true
}

# Both workers publish their task events and heartbeats, and keep their record for
# `graphnode status` under ops/workers/ in the payload bucket.
data "aws_iam_policy_document" "worker_observability" {
  statement {
    sid       = "PublishEvents"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.events.arn]
  }

  statement {
    sid       = "WorkerRecord"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.payloads.arn}/${local.worker_records}*"]
  }
}

resource "aws_iam_policy" "worker_observability" {
  name        = "${var.name_prefix}graphnode-worker-observability"
  description = "GraphNode workers (both roles): publish Celery events to ${aws_sns_topic.events.name}; keep the worker record under ops/workers/."
  policy      = data.aws_iam_policy_document.worker_observability.json
}

# Flower, `celery events` and `graphnode status` (operators): read the event queues, the
# queue depths, the worker records and CloudWatch's age of the oldest message.
data "aws_iam_policy_document" "operator" {
  statement {
    sid       = "ReadEvents"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueUrl"]
    resources = [for queue in aws_sqs_queue.events : queue.arn]
  }

  statement {
    sid     = "QueueDepths"
    actions = ["sqs:GetQueueAttributes"]
    resources = concat([for queue in aws_sqs_queue.this : queue.arn],
    [for queue in aws_sqs_queue.dlq : queue.arn])
  }

  statement {
    sid       = "WorkerRecords"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.payloads.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.worker_records}*"]
    }
  }

  statement {
    sid       = "ReadWorkerRecords"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.payloads.arn}/${local.worker_records}*"]
  }

  statement {
    sid       = "OldestMessageAge"
    actions   = ["cloudwatch:GetMetricStatistics"]
    resources = ["*"]
  }
}

resource "aws_iam_policy" "operator" {
  name        = "${var.name_prefix}graphnode-operator"
  description = "GraphNode operators: Flower, celery events and graphnode status."
  policy      = data.aws_iam_policy_document.operator.json
}

resource "aws_iam_role_policy_attachment" "worker_observability" {
  for_each = { for name, role in local.roles : name => role if name != "api" }

  role       = aws_iam_role.workload[each.key].name
  policy_arn = aws_iam_policy.worker_observability.arn
}
