package aws

import (
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
)

type blobBucket = blob.Bucket

func openFileBucket(dir string) (*blob.Bucket, error) {
	return fileblob.OpenBucket(dir, &fileblob.Options{Metadata: fileblob.MetadataDontWrite})
}
