################################################################################
# SNS: where the alarms go (created here, or the caller's own topic)
################################################################################

resource "aws_sns_topic" "alarms" {
  # checkov:skip=CKV_AWS_26:Encrypted with var.kms_key_arn when given. Not with the AWS-managed alias/aws/sns key: CloudWatch alarms cannot publish to a topic under that key (its key policy cannot be changed to let cloudwatch.amazonaws.com use it). Alarm messages carry queue names and counts, no payloads.
  count = var.create_sns_topic ? 1 : 0

  name              = "${var.name_prefix}graphnode-alarms"
  kms_master_key_id = var.kms_key_arn

  tags = var.tags
}

locals {
  autoscaling_enabled = var.gpu_autoscaling_group_name != null

  # Every alarm notifies the topic (ours, or var.sns_topic_arn) and any further actions.
  notify = compact(concat(
    [var.create_sns_topic ? aws_sns_topic.alarms[0].arn : var.sns_topic_arn],
    var.alarm_actions,
  ))

  # The longest a message may wait on each queue before its age alarm fires, by queue name.
  oldest_message_age_thresholds = {
    (local.request_queue) = var.request_queue_oldest_message_alarm_seconds
    (local.result_queue)  = var.result_queue_oldest_message_alarm_seconds
  }
}

################################################################################
# CloudWatch: queue depth, message age and dead letters
################################################################################

resource "aws_cloudwatch_metric_alarm" "request_backlog_high" {
  alarm_name        = "${aws_sqs_queue.this[local.request_queue].name}-backlog-high"
  alarm_description = "Tasks are waiting on ${aws_sqs_queue.this[local.request_queue].name} faster than the GPU workers take them."

  namespace   = "AWS/SQS"
  metric_name = "ApproximateNumberOfMessagesVisible"
  dimensions = {
    QueueName = aws_sqs_queue.this[local.request_queue].name
  }
  statistic           = "Maximum"
  period              = var.alarm_period_seconds
  evaluation_periods  = var.request_queue_scale_out_evaluation_periods
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.request_queue_scale_out_threshold
  # An idle queue stops publishing metrics after a few hours: idle is not a backlog.
  treat_missing_data = "notBreaching"

  alarm_actions = concat(local.notify, aws_autoscaling_policy.gpu_scale_out[*].arn)
  ok_actions    = local.notify

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "oldest_message_age" {
  for_each = local.oldest_message_age_thresholds

  alarm_name        = "${aws_sqs_queue.this[each.key].name}-oldest-message-age"
  alarm_description = "A message has waited on ${aws_sqs_queue.this[each.key].name} for more than ${each.value} s: its consumers are down, stuck or far behind."

  namespace   = "AWS/SQS"
  metric_name = "ApproximateAgeOfOldestMessage"
  dimensions = {
    QueueName = aws_sqs_queue.this[each.key].name
  }
  statistic           = "Maximum"
  period              = var.alarm_period_seconds
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value
  treat_missing_data  = "notBreaching"

  alarm_actions = local.notify
  ok_actions    = local.notify

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "dlq_not_empty" {
  for_each = local.queues

  alarm_name        = "${aws_sqs_queue.dlq[each.key].name}-not-empty"
  alarm_description = "Messages of ${aws_sqs_queue.this[each.key].name} failed ${each.value.dlq.max_receive_count} times and were moved to ${aws_sqs_queue.dlq[each.key].name}: inspect them, then redrive or purge."

  namespace   = "AWS/SQS"
  metric_name = "ApproximateNumberOfMessagesVisible"
  dimensions = {
    QueueName = aws_sqs_queue.dlq[each.key].name
  }
  statistic           = "Maximum"
  period              = var.alarm_period_seconds
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"

  alarm_actions = local.notify
  ok_actions    = local.notify

  tags = var.tags
}

locals {
  # The request queue's depth, by the query id the scale-from-zero and scale-in alarms'
  # expressions use: messages waiting, and messages taken by a worker but not yet deleted.
  request_queue_depth_metrics = {
    visible  = "ApproximateNumberOfMessagesVisible"
    inflight = "ApproximateNumberOfMessagesNotVisible"
  }
}

resource "aws_cloudwatch_metric_alarm" "request_unserved" {
  count = local.autoscaling_enabled ? 1 : 0

  alarm_name        = "${aws_sqs_queue.this[local.request_queue].name}-unserved"
  alarm_description = "Tasks wait on ${aws_sqs_queue.this[local.request_queue].name} and none is in flight: no GPU worker is consuming (scaled to zero?)."

  evaluation_periods  = var.request_queue_scale_out_evaluation_periods
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"

  metric_query {
    id          = "unserved"
    expression  = "IF(visible > 0 AND inflight == 0, 1, 0)"
    label       = "Visible tasks with no task in flight"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = local.request_queue_depth_metrics

    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/SQS"
        metric_name = metric_query.value
        dimensions = {
          QueueName = aws_sqs_queue.this[local.request_queue].name
        }
        stat   = "Maximum"
        period = var.alarm_period_seconds
      }
    }
  }

  alarm_actions = aws_autoscaling_policy.gpu_scale_from_zero[*].arn

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "request_idle" {
  count = local.autoscaling_enabled ? 1 : 0

  alarm_name        = "${aws_sqs_queue.this[local.request_queue].name}-idle"
  alarm_description = "Nothing waits on ${aws_sqs_queue.this[local.request_queue].name} and nothing is in flight: the GPU workers can go."

  evaluation_periods  = var.request_queue_scale_in_evaluation_periods
  comparison_operator = "LessThanOrEqualToThreshold"
  threshold           = 0
  # An idle queue stops publishing metrics after a few hours: that is idle too.
  treat_missing_data = "breaching"

  metric_query {
    id          = "outstanding"
    expression  = "visible + inflight"
    label       = "Visible and in-flight tasks"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = local.request_queue_depth_metrics

    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/SQS"
        metric_name = metric_query.value
        dimensions = {
          QueueName = aws_sqs_queue.this[local.request_queue].name
        }
        stat   = "Maximum"
        period = var.alarm_period_seconds
      }
    }
  }

  alarm_actions = aws_autoscaling_policy.gpu_scale_in[*].arn

  tags = var.tags
}

################################################################################
# Autoscaling of an EC2 Auto Scaling group of GPU workers (optional; on Kubernetes, KEDA
# scales the GPU worker pods instead: terraform/kubernetes/gpu-worker-scaledobject.yaml) on the request queue's depth (optional)
################################################################################

resource "aws_autoscaling_policy" "gpu_scale_out" {
  count = local.autoscaling_enabled ? 1 : 0

  name                      = "${aws_sqs_queue.this[local.request_queue].name}-scale-out"
  autoscaling_group_name    = var.gpu_autoscaling_group_name
  policy_type               = "StepScaling"
  adjustment_type           = "ChangeInCapacity"
  metric_aggregation_type   = "Maximum"
  estimated_instance_warmup = var.gpu_instance_warmup_seconds

  # Bounds are relative to the backlog alarm's threshold.
  step_adjustment {
    metric_interval_lower_bound = 0
    metric_interval_upper_bound = var.request_queue_scale_out_threshold
    scaling_adjustment          = var.gpu_scale_out_adjustment
  }

  step_adjustment {
    metric_interval_lower_bound = var.request_queue_scale_out_threshold
    scaling_adjustment          = 2 * var.gpu_scale_out_adjustment
  }
}

resource "aws_autoscaling_policy" "gpu_scale_from_zero" {
  count = local.autoscaling_enabled ? 1 : 0

  name                      = "${aws_sqs_queue.this[local.request_queue].name}-scale-from-zero"
  autoscaling_group_name    = var.gpu_autoscaling_group_name
  policy_type               = "StepScaling"
  adjustment_type           = "ChangeInCapacity"
  metric_aggregation_type   = "Maximum"
  estimated_instance_warmup = var.gpu_instance_warmup_seconds

  step_adjustment {
    metric_interval_lower_bound = 0
    scaling_adjustment          = var.gpu_scale_out_adjustment
  }
}

resource "aws_autoscaling_policy" "gpu_scale_in" {
  count = local.autoscaling_enabled ? 1 : 0

  name                    = "${aws_sqs_queue.this[local.request_queue].name}-scale-in"
  autoscaling_group_name  = var.gpu_autoscaling_group_name
  policy_type             = "StepScaling"
  adjustment_type         = "ExactCapacity"
  metric_aggregation_type = "Maximum"

  # The idle alarm fires at or below 0 outstanding tasks.
  step_adjustment {
    metric_interval_upper_bound = 0
    scaling_adjustment          = var.gpu_scale_in_capacity
  }
}
