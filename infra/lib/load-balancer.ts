/**
 * The public entrance: an Application Load Balancer, HTTPS only (HTTP answers with a redirect),
 * round robin with no stickiness (the Socket.IO clients use websockets only, so a connection stays
 * where it landed), an idle timeout long enough for websockets between pings and slow uploads, and
 * a target group of server tasks on PORT only: METRICS_PORT is never a target, and `/metrics*` is
 * answered by the load balancer itself with a 404.
 */
import { Duration } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';

export const METRICS_PATH_PATTERNS = ['/metrics*'];

export interface LoadBalancerProps {
  readonly vpc: ec2.IVpc;
  /** ACM certificate for the HTTPS listener (a CfnParameter's value in PrismStack). */
  readonly certificateArn: string;
  /** The servers' PORT. */
  readonly targetPort: number;
  /** Idle timeout; at least 120 s (HAProxy's `timeout client` locally). */
  readonly idleTimeout: Duration;
  /** How long a deregistered server keeps its connections: DRAIN_TIMEOUT_MS. */
  readonly deregistrationDelay: Duration;
  readonly healthCheckPath?: string;
  readonly deletionProtection?: boolean;
}

export class LoadBalancer extends Construct {
  readonly alb: elbv2.ApplicationLoadBalancer;
  readonly httpsListener: elbv2.ApplicationListener;
  readonly targetGroup: elbv2.ApplicationTargetGroup;

  constructor(scope: Construct, id: string, props: LoadBalancerProps) {
    super(scope, id);
    const idle = props.idleTimeout.toSeconds();
    if (idle < 120 || idle > 4000) throw new Error(`ALB idle timeout must be 120..4000 s (got ${idle})`);
    const delay = props.deregistrationDelay.toSeconds();
    if (delay < 0 || delay > 3600) throw new Error(`deregistration delay must be 0..3600 s (got ${delay})`);

    this.alb = new elbv2.ApplicationLoadBalancer(this, 'Alb', {
      vpc: props.vpc,
      internetFacing: true,
      idleTimeout: props.idleTimeout,
      dropInvalidHeaderFields: true,
      deletionProtection: props.deletionProtection ?? false,
    });

    this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'Servers', {
      vpc: props.vpc,
      targetType: elbv2.TargetType.IP,
      protocol: elbv2.ApplicationProtocol.HTTP,
      port: props.targetPort,
      loadBalancingAlgorithmType: elbv2.TargetGroupLoadBalancingAlgorithmType.ROUND_ROBIN,
      deregistrationDelay: props.deregistrationDelay,
      healthCheck: {
        path: props.healthCheckPath ?? '/health',
        port: String(props.targetPort),
        healthyHttpCodes: '200',
        interval: Duration.seconds(10),
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3,
      },
    });

    this.httpsListener = this.alb.addListener('Https', {
      port: 443,
      protocol: elbv2.ApplicationProtocol.HTTPS,
      certificates: [elbv2.ListenerCertificate.fromArn(props.certificateArn)],
      sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
      defaultTargetGroups: [this.targetGroup],
    });
    // Prometheus metrics are for the inside only (METRICS_PORT on the task's loopback); a request for
    // /metrics through the public entrance never reaches a server.
    this.httpsListener.addAction('NoMetrics', {
      priority: 1,
      conditions: [elbv2.ListenerCondition.pathPatterns(METRICS_PATH_PATTERNS)],
      action: elbv2.ListenerAction.fixedResponse(404, {
        contentType: 'application/json',
        messageBody: JSON.stringify({ error: { code: 'not_found', message: 'Not found' } }),
      }),
    });

    this.alb.addRedirect({
      sourceProtocol: elbv2.ApplicationProtocol.HTTP,
      sourcePort: 80,
      targetProtocol: elbv2.ApplicationProtocol.HTTPS,
      targetPort: 443,
    });
  }
}
