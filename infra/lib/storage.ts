/**
 * The object store behind STORAGE_URL=s3://BUCKET/PREFIX: uploads, guidelines and the export
 * packages under "Logs and data/". Encrypted, versioned (an overwritten or deleted object can be
 * recovered), private, TLS only; old export packages and old versions expire.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Where the export job writes its packages (CONTRACT section 3), under the prefix. */
export const EXPORTS_FOLDER = 'Logs and data/';

export interface StorageProps {
  /** Key prefix of every Prism object (no leading or trailing slash). */
  readonly prefix: string;
  /** Export packages move to Infrequent Access after this many days. */
  readonly exportsInfrequentAccessDays?: number;
  /** Export packages are deleted after this many days. */
  readonly exportsExpireDays?: number;
  /** Overwritten and deleted objects are kept this long as noncurrent versions. */
  readonly noncurrentVersionDays?: number;
  readonly removalPolicy?: RemovalPolicy;
}

export class Storage extends Construct {
  readonly bucket: s3.Bucket;
  readonly prefix: string;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    if (!/^[a-z0-9][a-z0-9._-]*(\/[a-z0-9._-]+)*$/i.test(props.prefix)) {
      throw new Error(
        `storage prefix "${props.prefix}" must be a relative key prefix without slashes at the ends`,
      );
    }
    this.prefix = props.prefix;
    const iaDays = props.exportsInfrequentAccessDays ?? 30;
    const expireDays = props.exportsExpireDays ?? 365;
    if (expireDays <= iaDays)
      throw new Error('exportsExpireDays must be greater than exportsInfrequentAccessDays');

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          id: 'old-export-packages',
          prefix: `${this.prefix}/${EXPORTS_FOLDER}`,
          transitions: [
            { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(iaDays) },
          ],
          expiration: Duration.days(expireDays),
        },
        {
          id: 'noncurrent-versions',
          noncurrentVersionExpiration: Duration.days(props.noncurrentVersionDays ?? 30),
          expiredObjectDeleteMarker: true,
        },
        { id: 'incomplete-multipart-uploads', abortIncompleteMultipartUploadAfter: Duration.days(2) },
      ],
    });
  }

  /** `s3://BUCKET/PREFIX` for STORAGE_URL. */
  get storageUrl(): string {
    return `s3://${this.bucket.bucketName}/${this.prefix}`;
  }

  /**
   * What the store does (store/src/s3.ts): get and put objects (multipart uploads included) under
   * the prefix, and HeadBucket for /ready (authorized as s3:ListBucket, which carries no prefix).
   */
  grantReadWrite(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PrismObjects',
        actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
        resources: [this.bucket.arnForObjects(`${this.prefix}/*`)],
      }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PrismBucket',
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
      }),
    );
  }
}
