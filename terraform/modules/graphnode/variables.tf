variable "topology_file" {
  description = "Path of the topology YAML that declares the queues, DLQs and bucket (the file `graphnode provision` reads). Null: the repository's graphnode/contract/topology.yaml beside this module."
  type        = string
  default     = null
}

variable "name_prefix" {
  description = "Prepended to the payload bucket's name from topology.yaml (bucket names are global), and to the IAM policy, role and SNS topic names, e.g. \"acme-prod-\"."
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
  description = "Tags added to every resource this module creates that takes tags."
  type        = map(string)
  default     = {}
}

variable "create_sns_topic" {
  description = "Create an SNS topic (\"<name_prefix>graphnode-alarms\") that every alarm notifies. Set false to bring your own with sns_topic_arn."
  type        = bool
  default     = true
}

variable "sns_topic_arn" {
  description = "An existing SNS topic every alarm notifies, used when create_sns_topic is false."
  type        = string
  default     = null
}

variable "alarm_actions" {
  description = "Further ARNs notified when a queue alarm changes to ALARM or back to OK, besides the SNS topic."
  type        = list(string)
  default     = []
}

variable "request_queue_oldest_message_alarm_seconds" {
  description = "Age of the oldest message waiting on the request queue above which its alarm fires. Leave room for GPU workers to scale up from zero (node start, image pull, model load)."
  type        = number
  default     = 900
}

variable "result_queue_oldest_message_alarm_seconds" {
  description = "Age of the oldest message waiting on the result queue above which its alarm fires. Result handlers take seconds, so a few minutes means they are down."
  type        = number
  default     = 300
}

variable "tls_only" {
  description = "Give the bucket and every queue a policy that denies requests over plain HTTP. Turn off only for an emulator that speaks plain HTTP (moto enforces bucket policies)."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "A customer-managed KMS key for the queues, the bucket and the SNS topic (SSE-KMS). Null: SSE-SQS and SSE-S3. The key policy must let the workload roles and CloudWatch (for the topic) use it."
  type        = string
  default     = null
}

variable "access_log_bucket" {
  description = "An existing bucket that receives the payload bucket's server access logs. Null: no access logging."
  type        = string
  default     = null
}

variable "upload_cors_origins" {
  description = "Origins (scheme://host[:port], e.g. \"https://graphnode.example.com\") of the web page, allowed by the bucket's CORS rule to PUT a large export to a presigned URL (GRAPHNODE_UPLOAD_CORS_ORIGINS of `graphnode provision`). Empty: no CORS rule, and browsers cannot upload large exports."
  type        = list(string)
  default     = []

  validation {
    # S3 compares the browser's Origin exactly: a path or a trailing slash never matches.
    condition     = alltrue([for origin in var.upload_cors_origins : can(regex("^https?://[A-Za-z0-9*.\\-\\[\\]:]+$", origin))])
    error_message = "upload_cors_origins must be origins like \"https://app.example.com\": scheme, host and port only, no path or trailing slash."
  }
}

variable "force_destroy_bucket" {
  description = "Let terraform destroy delete the payload bucket with its objects (test stacks only)."
  type        = bool
  default     = false
}

variable "create_roles" {
  description = "Create one IAM role per workload (API, GPU worker, result worker) with its policy attached, and the KEDA operator's role when IRSA is on."
  type        = bool
  default     = true
}

variable "eks_oidc_provider_arn" {
  description = "ARN of the EKS cluster's IAM OIDC provider. Set it to let the workloads' Kubernetes service accounts assume their roles (IRSA)."
  type        = string
  default     = null
}

variable "eks_oidc_provider_url" {
  description = "Issuer URL of that OIDC provider (\"https://oidc.eks.<region>.amazonaws.com/id/<id>\"). Null: derived from eks_oidc_provider_arn."
  type        = string
  default     = null
}

variable "kubernetes_namespace" {
  description = "Namespace of the workloads' service accounts (terraform/kubernetes uses \"graphnode\")."
  type        = string
  default     = "graphnode"
}

variable "kubernetes_service_accounts" {
  description = "Service account name of each workload, as in terraform/kubernetes."
  type = object({
    api           = string
    gpu_worker    = string
    result_worker = string
  })
  default = {
    api           = "graphnode-api"
    gpu_worker    = "graphnode-gpu-worker"
    result_worker = "graphnode-result-worker"
  }
}

variable "keda_operator_service_account" {
  description = "\"<namespace>:<name>\" of the KEDA operator's service account (\"keda:keda-operator\" for the KEDA Helm chart), given a role that reads the request queue's depth through IRSA (needs eks_oidc_provider_arn). Null: no KEDA role."
  type        = string
  default     = null

  validation {
    condition     = var.keda_operator_service_account == null || can(regex("^[a-z0-9-]+:[a-z0-9-]+$", var.keda_operator_service_account))
    error_message = "keda_operator_service_account must look like \"keda:keda-operator\"."
  }
}

variable "trust_ecs_tasks" {
  description = "Let ECS tasks of this account assume the workload roles (as task roles)."
  type        = bool
  default     = true
}

variable "role_path" {
  description = "IAM path of the roles."
  type        = string
  default     = "/"
}

variable "role_permissions_boundary_arn" {
  description = "Permissions boundary set on every role, where the account requires one."
  type        = string
  default     = null
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
