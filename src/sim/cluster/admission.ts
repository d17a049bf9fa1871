import type {
  Container,
  CronJob,
  DaemonSet,
  Deployment,
  Job,
  KObject,
  LabelSelector,
  Pod,
  PodSpec,
  PodTemplateSpec,
  StatefulSet,
} from '../model.js';
import { R, storageOf, type ResourceType } from '../api/resources.js';
import { matchesLabelSelector } from '../api/selectors.js';
import { invalid } from '../api/status.js';
import { defaultJob } from './controllers/job.js';
import { DEFAULT_TOLERATIONS, qosClass } from './objects.js';

type FieldError = { field: string; message: string };

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The pod spec defaults the API server applies (SetDefaults_PodSpec and friends). */
function defaultPodSpec(spec: PodSpec): PodSpec {
  return {
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: 30,
    dnsPolicy: 'ClusterFirst',
    serviceAccountName: spec.serviceAccount ?? 'default',
    schedulerName: 'default-scheduler',
    securityContext: {},
    enableServiceLinks: true,
    ...spec,
    containers: spec.containers.map(defaultContainer),
  };
}

function defaultContainer(c: Container): Container {
  const tag = c.image.includes('@') ? '' : (/:[^/:]+$/.exec(c.image)?.[0] ?? ':latest');
  return {
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    imagePullPolicy: tag === ':latest' ? 'Always' : 'IfNotPresent',
    resources: {},
    ...c,
  };
}

function checkContainers(spec: PodSpec | undefined, path: string, errors: FieldError[]): void {
  if (!Array.isArray(spec?.containers) || spec.containers.length === 0) {
    errors.push({ field: `${path}.containers`, message: 'Required value' });
    return;
  }
  spec.containers.forEach((c, i) => {
    if (typeof c?.name !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(c.name)) {
      errors.push({
        field: `${path}.containers[${i}].name`,
        message: `Invalid value: ${JSON.stringify(c?.name)}: a lowercase RFC 1123 label`,
      });
    }
    if (typeof c?.image !== 'string' || c.image === '') {
      errors.push({ field: `${path}.containers[${i}].image`, message: 'Required value' });
    }
  });
}

/** Checks a workload's selector and template, as apps/v1 validation does. */
function checkTemplate(
  selector: LabelSelector | undefined,
  template: PodTemplateSpec | undefined,
  errors: FieldError[],
  needsSelector = true,
): void {
  if (!template?.spec) {
    errors.push({ field: 'spec.template', message: 'Required value' });
    return;
  }
  checkContainers(template.spec, 'spec.template.spec', errors);
  if (!needsSelector) return;
  if (
    !selector ||
    (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0)
  ) {
    errors.push({ field: 'spec.selector', message: 'Required value' });
  } else if (!matchesLabelSelector(selector, template.metadata?.labels)) {
    errors.push({
      field: 'spec.template.metadata.labels',
      message: `Invalid value: ${JSON.stringify(template.metadata?.labels ?? {})}: \`selector\` does not match template \`labels\``,
    });
  }
}

function withTemplate<T extends { spec: { template: PodTemplateSpec } }>(object: T): T {
  const t = object.spec.template;
  return {
    ...object,
    spec: { ...object.spec, template: { ...t, metadata: t.metadata ?? {}, spec: defaultPodSpec(t.spec) } },
  };
}

/**
 * Admission for objects created through the API: name validation, the defaults the API server sets
 * (so clients see the same fields as on a real cluster, and the controllers can rely on them), and the
 * validation errors a real server answers with 422.
 */
export function admit(resource: ResourceType, object: KObject): KObject {
  const name = object.metadata.name;
  if (!NAME.test(name) || name.length > 253) {
    throw invalid(resource.kind, resource.group, name, [
      {
        field: 'metadata.name',
        message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
      },
    ]);
  }
  const errors: FieldError[] = [];
  const fail = (): never => {
    throw invalid(resource.kind, resource.group, name, errors);
  };
  const storage = storageOf(resource);
  const o = object as KObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };
  switch (storage) {
    case R.pods: {
      const pod = o as unknown as Pod;
      checkContainers(pod.spec, 'spec', errors);
      if (errors.length > 0) fail();
      const spec = defaultPodSpec(pod.spec);
      const tolerations = [...(spec.tolerations ?? [])];
      for (const t of DEFAULT_TOLERATIONS)
        if (!tolerations.some((x) => x.key === t.key && x.effect === t.effect)) tolerations.push(t);
      const admitted: Pod = {
        ...pod,
        spec: {
          ...spec,
          serviceAccount: spec.serviceAccountName ?? 'default',
          priority: spec.priority ?? 0,
          preemptionPolicy: spec.preemptionPolicy ?? 'PreemptLowerPriority',
          tolerations,
        },
        status: { phase: 'Pending', qosClass: '' },
      };
      admitted.status.qosClass = qosClass(admitted);
      return admitted;
    }
    case R.deployments: {
      const d = o as unknown as Deployment;
      checkTemplate(d.spec?.selector, d.spec?.template, errors);
      if (errors.length > 0) fail();
      return withTemplate({
        ...d,
        spec: {
          revisionHistoryLimit: 10,
          progressDeadlineSeconds: 600,
          ...d.spec,
          replicas: d.spec.replicas ?? 1,
          strategy: d.spec.strategy ?? {
            type: 'RollingUpdate',
            rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' },
          },
        },
        status: {},
      });
    }
    case R.replicasets: {
      const rs = o as unknown as KObject & {
        spec: { replicas?: number; selector: LabelSelector; template: PodTemplateSpec };
      };
      checkTemplate(rs.spec?.selector, rs.spec?.template, errors);
      if (errors.length > 0) fail();
      return withTemplate({ ...rs, spec: { replicas: 1, ...rs.spec }, status: { replicas: 0 } });
    }
    case R.daemonsets: {
      const ds = o as unknown as DaemonSet;
      checkTemplate(ds.spec?.selector, ds.spec?.template, errors);
      if (errors.length > 0) fail();
      return withTemplate({
        ...ds,
        spec: {
          revisionHistoryLimit: 10,
          ...ds.spec,
          updateStrategy: ds.spec.updateStrategy ?? {
            type: 'RollingUpdate',
            rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
          },
        },
        status: {
          currentNumberScheduled: 0,
          numberMisscheduled: 0,
          desiredNumberScheduled: 0,
          numberReady: 0,
        },
      });
    }
    case R.statefulsets: {
      const sts = o as unknown as StatefulSet;
      checkTemplate(sts.spec?.selector, sts.spec?.template, errors);
      if (errors.length > 0) fail();
      return withTemplate({
        ...sts,
        spec: {
          podManagementPolicy: 'OrderedReady',
          revisionHistoryLimit: 10,
          persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
          ...sts.spec,
          replicas: sts.spec.replicas ?? 1,
          updateStrategy: sts.spec.updateStrategy ?? {
            type: 'RollingUpdate',
            rollingUpdate: { partition: 0 },
          },
          serviceName: sts.spec.serviceName ?? '',
        },
        status: { replicas: 0 },
      });
    }
    case R.jobs: {
      const job = o as unknown as Job;
      checkTemplate(job.spec?.selector, job.spec?.template, errors, job.spec?.manualSelector === true);
      const policy = job.spec?.template?.spec?.restartPolicy;
      if (policy !== 'Never' && policy !== 'OnFailure') {
        errors.push({
          field: 'spec.template.spec.restartPolicy',
          message: `Unsupported value: ${JSON.stringify(policy ?? 'Always')}: supported values: "OnFailure", "Never"`,
        });
      }
      if (errors.length > 0) fail();
      return defaultJob(withTemplate({ ...job, status: {} }));
    }
    case R.cronjobs: {
      const cj = o as unknown as CronJob;
      if (typeof cj.spec?.schedule !== 'string' || cj.spec.schedule.trim() === '')
        errors.push({ field: 'spec.schedule', message: 'Required value' });
      const template = cj.spec?.jobTemplate?.spec?.template;
      if (!template) errors.push({ field: 'spec.jobTemplate.spec.template', message: 'Required value' });
      else checkContainers(template.spec, 'spec.jobTemplate.spec.template.spec', errors);
      if (errors.length > 0) fail();
      return {
        ...cj,
        spec: {
          concurrencyPolicy: 'Allow',
          suspend: false,
          successfulJobsHistoryLimit: 3,
          failedJobsHistoryLimit: 1,
          ...cj.spec,
          jobTemplate: {
            ...cj.spec.jobTemplate,
            spec: {
              ...cj.spec.jobTemplate.spec,
              template: { ...template, spec: defaultPodSpec(template.spec) },
            },
          },
        },
        status: {},
      } as CronJob;
    }
    default:
      if (o.spec !== undefined && o.status === undefined && storage !== R.leases)
        return { ...o, status: {} } as KObject;
      return o;
  }
}
