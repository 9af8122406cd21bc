#!/usr/bin/env python3
"""What a user would do instead of the S3 engine: copy FILE to an S3
endpoint and back with boto3 (the library behind `aws s3 cp`: multipart,
several threads). Prints `PUT_SECONDS GET_SECONDS`. Used by bench/engines.sh."""
import os
import sys
import tempfile
import time

import boto3
from botocore.config import Config


def main() -> None:
    endpoint, bucket, path = sys.argv[1], sys.argv[2], sys.argv[3]
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="bench", aws_secret_access_key="bench",
                      config=Config(s3={"addressing_style": "path"}))
    t0 = time.monotonic()
    s3.upload_file(path, bucket, "plain-1g")
    t1 = time.monotonic()
    with tempfile.TemporaryDirectory() as d:
        back = os.path.join(d, "back")
        s3.download_file(bucket, "plain-1g", back)
        t2 = time.monotonic()
        if os.path.getsize(back) != os.path.getsize(path):
            sys.exit("size differs")
    s3.delete_object(Bucket=bucket, Key="plain-1g")
    print(f"{t1 - t0} {t2 - t1}")


if __name__ == "__main__":
    main()
