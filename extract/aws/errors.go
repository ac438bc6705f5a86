package aws

import (
	"gocloud.dev/gcerrors"
)

func isNotFound(err error) bool { return gcerrors.Code(err) == gcerrors.NotFound }
