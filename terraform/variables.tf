variable "region" {
  description = "AWS region of the queues, the payload bucket and the alarms."
  type        = string
  default     = "us-east-1"
}

variable "name_prefix" {
  description = "Prepended to the payload bucket's name from topology.yaml (bucket names are global), and to the IAM policy names, e.g. \"acme-prod-\"."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^[a-z0-9.-]*$", var.name_prefix))
    error_message = "name_prefix must be usable in an S3 bucket name: lower-case letters, digits, '.' and '-'."
  }
}

variable "queue_name_prefix" {
  description = "Prepended to every queue and DLQ name from topology.yaml. Leave empty unless the app is told the same names (GRAPHNODE_REQUEST_QUEUE / GRAPHNODE_RESULT_QUEUE or the queue URL outputs)."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]*$", var.queue_name_prefix))
    error_message = "queue_name_prefix may hold only letters, digits, '-' and '_' (SQS queue name characters)."
  }
}

variable "tags" {
  description = "Tags applied to every resource through the provider's default_tags."
  type        = map(string)
  default     = {}
}

variable "alarm_actions" {
  description = "ARNs (typically SNS topics) notified when a queue-depth or DLQ alarm changes to ALARM or back to OK."
  type        = list(string)
  default     = []
}

variable "request_queue_scale_out_threshold" {
  description = "Visible messages waiting on the request queue at or above which the backlog alarm fires (and the GPU group scales out)."
  type        = number
  default     = 10

  validation {
    condition     = var.request_queue_scale_out_threshold >= 1
    error_message = "request_queue_scale_out_threshold must be at least 1."
  }
}

variable "request_queue_scale_out_evaluation_periods" {
  description = "Consecutive periods the request queue backlog must be at or above the threshold before the alarm fires."
  type        = number
  default     = 2

  validation {
    condition     = var.request_queue_scale_out_evaluation_periods >= 1
    error_message = "request_queue_scale_out_evaluation_periods must be at least 1."
  }
}

variable "request_queue_scale_in_evaluation_periods" {
  description = "Consecutive periods the request queue must be completely idle (nothing visible, nothing in flight) before the GPU group scales in. Only used with gpu_autoscaling_group_name."
  type        = number
  default     = 15

  validation {
    condition     = var.request_queue_scale_in_evaluation_periods >= 1
    error_message = "request_queue_scale_in_evaluation_periods must be at least 1."
  }
}

variable "alarm_period_seconds" {
  description = "Period of the queue-depth alarms. SQS publishes its metrics every minute, so 60 is the finest useful value."
  type        = number
  default     = 60

  validation {
    condition     = var.alarm_period_seconds >= 60 && var.alarm_period_seconds % 60 == 0
    error_message = "alarm_period_seconds must be a multiple of 60."
  }
}

variable "gpu_autoscaling_group_name" {
  description = "Name of an existing Auto Scaling group running the GPU workers (celery -A graphnode worker -Q graph-req). When set, step scaling policies on the request queue's depth are created for it and wired to the queue-depth alarms."
  type        = string
  default     = null
}

variable "gpu_scale_out_adjustment" {
  description = "Instances added to the GPU group each time the backlog alarm fires; twice as many when the backlog is at least twice the threshold."
  type        = number
  default     = 1

  validation {
    condition     = var.gpu_scale_out_adjustment >= 1
    error_message = "gpu_scale_out_adjustment must be at least 1."
  }
}

variable "gpu_scale_in_capacity" {
  description = "Desired capacity the GPU group is set to once the request queue is idle (clamped to the group's min_size)."
  type        = number
  default     = 0

  validation {
    condition     = var.gpu_scale_in_capacity >= 0
    error_message = "gpu_scale_in_capacity must not be negative."
  }
}

variable "gpu_instance_warmup_seconds" {
  description = "Seconds a new GPU instance needs before it consumes tasks (boot, image pull, model load); its metrics do not count toward further scale-out meanwhile."
  type        = number
  default     = 300
}
