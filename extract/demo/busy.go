package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Payload profiles of Config.Payloads.
const (
	// PayloadsSmall is the default: the background calls are reads and small writes whose
	// requestParameters are a few keys and whose responseElements are mostly null (~1.06 KB per
	// record on average).
	PayloadsSmall = "small"
	// PayloadsLarge is a busy account's trail: the same identities also launch instances,
	// write policies and read and write S3 objects (data events), whose records carry large
	// nested payloads — RunInstances' instancesSet in responseElements (one to four instances),
	// CreatePolicy's and PutRolePolicy's policy documents in requestParameters (one to twelve
	// statements), PutObject/GetObject's additionalEventData and resources. Record sizes spread
	// from ~0.8 KB to ~10 KB, ~1.5–2 KB on average.
	PayloadsLarge = "large"
)

// Calls only the large payload profile makes.
var (
	callRunInstances  = c("ec2", "RunInstances", "ec2:RunInstances")
	callCreatePolicy  = global(c("iam", "CreatePolicy", "iam:CreatePolicy"))
	callPutRolePolicy = global(c("iam", "PutRolePolicy", "iam:PutRolePolicy"))
	callPutObject     = c("s3", "PutObject", "s3:PutObject")
	callGetObject     = c("s3", "GetObject", "s3:GetObject")
)

// busyCalls are the calls added to a profile's own in the large payload profile, by the role
// or user name of the profile's identity: the high-volume identities write S3 objects, the
// platform identities launch instances and write policies.
var busyCalls = map[string][]call{
	"app-server":       {callPutObject, callGetObject, callPutObject, callPutObject},
	"lambda-processor": {callPutObject, callGetObject, callPutObject},
	"data-pipeline":    {callPutObject, callGetObject, callPutObject},
	"platform-admin":   {callRunInstances, callCreatePolicy, callPutRolePolicy, callRunInstances},
	"ci-deploy":        {callRunInstances, callPutObject, callCreatePolicy},
	"alice":            {callRunInstances, callGetObject},
}

// busyProfiles is profiles with the calls of busyCalls added.
func busyProfiles(ps []profile) []profile {
	for i, p := range ps {
		if extra := busyCalls[p.who.name]; len(extra) > 0 {
			ps[i].calls = append(append([]call(nil), p.calls...), extra...)
		}
	}
	return ps
}

// largePayload fills the payloads of the calls of busyCalls the way CloudTrail records them.
// It draws from rng only for those calls, so the other records stay as PayloadsSmall makes them.
func largePayload(rng *rand.Rand, r *record, k call, acct, region string, who actor) {
	switch k.name {
	case "RunInstances":
		if k.errorCode != "" {
			return
		}
		r.RequestParameters, r.ResponseElements = runInstances(rng, acct, region, r.at, who)
	case "CreatePolicy", "PutRolePolicy":
		doc := policyDocument(rng, acct, 1+rng.IntN(12))
		name := fmt.Sprintf("app-%s-%04d", []string{"read", "write", "deploy", "ops"}[rng.IntN(4)], rng.IntN(10000))
		if k.name == "PutRolePolicy" {
			r.RequestParameters = map[string]any{"roleName": "app-server", "policyName": name, "policyDocument": doc}
			return
		}
		r.RequestParameters = map[string]any{"policyName": name, "path": "/app/", "description": "Access for " + name + " managed by terraform", "policyDocument": doc}
		r.ResponseElements = map[string]any{"policy": map[string]any{
			"policyName": name, "policyId": stableID("ANPA", acct+name), "arn": "arn:aws:iam::" + acct + ":policy/app/" + name,
			"path": "/app/", "defaultVersionId": "v1", "attachmentCount": 0, "permissionsBoundaryUsageCount": 0,
			"isAttachable": true, "createDate": r.at.Format("Jan 2, 2006, 3:04:05 PM"), "updateDate": r.at.Format("Jan 2, 2006, 3:04:05 PM"),
		}}
	case "PutObject", "GetObject":
		s3Object(rng, r, k, acct, region)
	}
}

// s3Object makes r an S3 object-level data event (FORMATS.md §1.9): eventCategory Data, the
// object and bucket in resources, TLS and transfer details in additionalEventData.
func s3Object(rng *rand.Rand, r *record, k call, acct, region string) {
	bucket := "app-data-" + acct
	key := fmt.Sprintf("%s/year=%d/month=%02d/day=%02d/part-%05d-%s.snappy.parquet",
		[]string{"orders", "clickstream", "invoices", "exports/daily"}[rng.IntN(4)], r.at.Year(), r.at.Month(), r.at.Day(), rng.IntN(100000), uuid(rng))
	host := bucket + ".s3." + region + ".amazonaws.com"
	size := 1024 + rng.IntN(64<<20)
	r.RequestParameters = map[string]any{"bucketName": bucket, "Host": host, "key": key}
	in, out := 0, 0
	if k.name == "PutObject" {
		in = size
		r.RequestParameters["x-amz-server-side-encryption"] = "aws:kms"
		r.RequestParameters["x-amz-server-side-encryption-aws-kms-key-id"] = "arn:aws:kms:" + region + ":" + acct + ":key/" + uuidOf(acct+"s3key")
		r.RequestParameters["x-amz-storage-class"] = "INTELLIGENT_TIERING"
		r.RequestParameters["Content-Type"] = "application/octet-stream"
		r.ResponseElements = map[string]any{"x-amz-server-side-encryption": "aws:kms",
			"x-amz-server-side-encryption-aws-kms-key-id":     "arn:aws:kms:" + region + ":" + acct + ":key/" + uuidOf(acct+"s3key"),
			"x-amz-server-side-encryption-bucket-key-enabled": "true", "x-amz-version-id": stableID("", key) + stableID("", key+"v")}
	} else {
		out = size
	}
	r.AdditionalEventData = map[string]any{"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
		"bytesTransferredIn": in, "bytesTransferredOut": out, "x-amz-id-2": randomBase64(rng, 76),
		"AuthenticationMethod": "AuthHeader", "SSEApplied": "SSE_KMS"}
	r.Resources = []resource{{Type: "AWS::S3::Object", ARN: "arn:aws:s3:::" + bucket + "/" + key},
		{AccountID: acct, Type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::" + bucket}}
	r.ReadOnly = k.name == "GetObject"
	r.ManagementEvent, r.EventCategory = false, "Data"
}

// runInstances is the request and response of a RunInstances call launching one to four
// instances: the response's instancesSet repeats every instance's network, placement and
// block-device details, which makes these some of the largest management events.
func runInstances(rng *rand.Rand, acct, region string, at time.Time, who actor) (req, resp map[string]any) {
	n := 1 + rng.IntN(4)
	itype := []string{"m5.large", "c6i.xlarge", "r6g.2xlarge", "t3.medium"}[rng.IntN(4)]
	ami := "ami-0" + hexID(acct + itype)[:16]
	subnet := "subnet-0" + hexID(acct + region + "subnet")[:16]
	vpc := "vpc-0" + hexID(acct + region + "vpc")[:16]
	sg := "sg-0" + hexID(acct + region + "sg")[:16]
	az := region + []string{"a", "b", "c"}[rng.IntN(3)]
	tags := map[string]any{"items": []any{
		map[string]any{"key": "Name", "value": "app-" + itype},
		map[string]any{"key": "team", "value": "platform"},
		map[string]any{"key": "cost-center", "value": fmt.Sprint(1000 + rng.IntN(9000))},
	}}
	req = map[string]any{
		"instancesSet":          map[string]any{"items": []any{map[string]any{"imageId": ami, "minCount": n, "maxCount": n}}},
		"instanceType":          itype,
		"blockDeviceMapping":    map[string]any{"items": []any{map[string]any{"deviceName": "/dev/xvda", "ebs": map[string]any{"volumeSize": 50, "deleteOnTermination": true, "volumeType": "gp3", "encrypted": true}}}},
		"monitoring":            map[string]any{"enabled": false},
		"disableApiTermination": false,
		"disableApiStop":        false,
		"clientToken":           uuid(rng),
		"networkInterfaceSet":   map[string]any{"items": []any{map[string]any{"deviceIndex": 0, "subnetId": subnet, "associatePublicIpAddress": false, "groupSet": map[string]any{"items": []any{map[string]any{"groupId": sg}}}}}},
		"iamInstanceProfile":    map[string]any{"arn": "arn:aws:iam::" + acct + ":instance-profile/app-server"},
		"tagSpecificationSet":   map[string]any{"items": []any{map[string]any{"resourceType": "instance", "tags": tags["items"]}}},
		"metadataOptions":       map[string]any{"httpTokens": "required", "httpPutResponseHopLimit": 2, "httpEndpoint": "enabled"},
	}
	items := make([]any, n)
	launched := at.UnixMilli()
	for i := range items {
		id := "i-0" + hexID(fmt.Sprint(acct, at.UnixNano(), i, rng.Uint64()))[:16]
		eni := "eni-0" + hexID(id + "eni")[:16]
		ip := fmt.Sprintf("10.%d.%d.%d", rng.IntN(256), rng.IntN(256), 1+rng.IntN(254))
		items[i] = map[string]any{
			"instanceId": id, "imageId": ami, "currentInstanceBootMode": "legacy-bios",
			"instanceState":  map[string]any{"code": 0, "name": "pending"},
			"privateDnsName": "ip-" + strings.ReplaceAll(ip, ".", "-") + "." + region + ".compute.internal",
			"amiLaunchIndex": i, "productCodes": map[string]any{}, "instanceType": itype, "launchTime": launched,
			"placement":  map[string]any{"availabilityZone": az, "tenancy": "default"},
			"monitoring": map[string]any{"state": "disabled"}, "subnetId": subnet, "vpcId": vpc, "privateIpAddress": ip,
			"stateReason": map[string]any{"code": "pending", "message": "pending"}, "architecture": "x86_64", "rootDeviceType": "ebs",
			"rootDeviceName": "/dev/xvda", "blockDeviceMapping": map[string]any{}, "virtualizationType": "hvm",
			"clientToken": req["clientToken"], "tagSet": tags,
			"groupSet":        map[string]any{"items": []any{map[string]any{"groupId": sg, "groupName": "app-server"}}},
			"sourceDestCheck": true, "hypervisor": "xen",
			"networkInterfaceSet": map[string]any{"items": []any{map[string]any{
				"networkInterfaceId": eni, "subnetId": subnet, "vpcId": vpc, "ownerId": acct, "status": "in-use",
				"macAddress":       fmt.Sprintf("0a:%02x:%02x:%02x:%02x:%02x", rng.IntN(256), rng.IntN(256), rng.IntN(256), rng.IntN(256), rng.IntN(256)),
				"privateIpAddress": ip, "privateDnsName": "ip-" + strings.ReplaceAll(ip, ".", "-") + "." + region + ".compute.internal",
				"sourceDestCheck": true, "interfaceType": "interface",
				"groupSet":              map[string]any{"items": []any{map[string]any{"groupId": sg, "groupName": "app-server"}}},
				"attachment":            map[string]any{"attachmentId": "eni-attach-0" + hexID(eni)[:16], "deviceIndex": 0, "networkCardIndex": 0, "status": "attaching", "attachTime": launched, "deleteOnTermination": true},
				"privateIpAddressesSet": map[string]any{"item": []any{map[string]any{"privateIpAddress": ip, "privateDnsName": "ip-" + strings.ReplaceAll(ip, ".", "-") + "." + region + ".compute.internal", "primary": true}}},
				"ipv6AddressesSet":      map[string]any{}, "tagSet": map[string]any{},
			}}},
			"iamInstanceProfile": map[string]any{"arn": "arn:aws:iam::" + acct + ":instance-profile/app-server", "id": stableID("AIPA", acct+"app-server")},
			"ebsOptimized":       false, "enaSupport": true,
			"cpuOptions":                       map[string]any{"coreCount": 1, "threadsPerCore": 2},
			"capacityReservationSpecification": map[string]any{"capacityReservationPreference": "open"},
			"enclaveOptions":                   map[string]any{"enabled": false},
			"metadataOptions":                  map[string]any{"state": "pending", "httpTokens": "required", "httpPutResponseHopLimit": 2, "httpEndpoint": "enabled", "httpProtocolIpv4": "enabled", "httpProtocolIpv6": "disabled", "instanceMetadataTags": "disabled"},
			"maintenanceOptions":               map[string]any{"autoRecovery": "default"},
			"privateDnsNameOptions":            map[string]any{"hostnameType": "ip-name", "enableResourceNameDnsARecord": false, "enableResourceNameDnsAAAARecord": false},
		}
	}
	resp = map[string]any{
		"requestId":     uuid(rng),
		"reservationId": "r-0" + hexID(fmt.Sprint(acct, at.UnixNano(), "r"))[:16],
		"ownerId":       acct,
		"groupSet":      map[string]any{},
		"instancesSet":  map[string]any{"items": items},
		"requesterId":   who.acct,
	}
	return req, resp
}

// policyDocument is an IAM policy document of n statements as CloudTrail records it in
// CreatePolicy's and PutRolePolicy's requestParameters: the JSON text as a string, so every
// quote in it is escaped in the record.
func policyDocument(rng *rand.Rand, acct string, n int) string {
	services := []struct{ prefix, resource string }{
		{"s3", "arn:aws:s3:::app-data-" + acct + "/*"}, {"dynamodb", "arn:aws:dynamodb:*:" + acct + ":table/orders"},
		{"sqs", "arn:aws:sqs:*:" + acct + ":orders"}, {"kms", "arn:aws:kms:*:" + acct + ":key/*"},
		{"logs", "arn:aws:logs:*:" + acct + ":log-group:/aws/lambda/*"}, {"ssm", "arn:aws:ssm:*:" + acct + ":parameter/app/*"},
	}
	verbs := []string{"Get", "Put", "List", "Describe", "Delete", "Update", "Create"}
	nouns := []string{"Object", "Item", "Message", "Parameter", "LogEvents", "Key", "Table", "Queue"}
	var b strings.Builder
	b.WriteString(`{"Version":"2012-10-17","Statement":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		s := services[rng.IntN(len(services))]
		fmt.Fprintf(&b, `{"Sid":"Stmt%d%d","Effect":"Allow","Action":[`, i, rng.IntN(1_000_000))
		for j := range 1 + rng.IntN(6) {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"%s:%s%s"`, s.prefix, verbs[rng.IntN(len(verbs))], nouns[rng.IntN(len(nouns))])
		}
		fmt.Fprintf(&b, `],"Resource":["%s"]`, s.resource)
		if rng.IntN(3) == 0 {
			fmt.Fprintf(&b, `,"Condition":{"StringEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]},"Bool":{"aws:SecureTransport":"true"}}`)
		}
		b.WriteByte('}')
	}
	b.WriteString(`]}`)
	return b.String()
}

// randomBase64 is n random characters of the base64 alphabet (S3's x-amz-id-2).
func randomBase64(rng *rand.Rand, n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}
