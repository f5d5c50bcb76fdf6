import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { RlError } from '../../core/errors';
import type { K8sObject } from './k8s-manifests';

/**
 * Checks an object against Kubernetes' OpenAPI schema for its kind (kubernetes-models'
 * compiled validators: types, required fields, formats such as quantities), so that
 * `rl deploy` refuses to write what the API server would reject. Unknown fields are caught
 * at build time instead, by the models' TypeScript types.
 */
export function validateObject(object: K8sObject): void {
  const model = modelOf(object);
  try {
    model.validate();
  } catch (err) {
    throw new RlError(`rl deploy kubernetes: the ${object.kind} ${object.metadata?.name} it made is not valid Kubernetes (${String((err as Error).message).split('\n')[0]})`);
  }
}

function modelOf(o: K8sObject): { validate(): void } {
  switch (o.kind) {
    case 'Namespace':
      return new Namespace(o);
    case 'Pod':
      return new Pod(o);
    case 'Secret':
      return new Secret(o);
    case 'ConfigMap':
      return new ConfigMap(o);
    case 'Service':
      return new Service(o);
    case 'StatefulSet':
      return new StatefulSet(o);
    case 'Deployment':
      return new Deployment(o);
    case 'HorizontalPodAutoscaler':
      return new HorizontalPodAutoscaler(o);
  }
}
