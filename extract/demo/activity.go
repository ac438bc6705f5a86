package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// call is one kind of API call: what CloudTrail records (source, name) and the IAM actions the
// generator means it to exercise (none for calls that need no permission).
type call struct {
	source, name string
	actions      []string
	readOnly     bool
	errorCode    string // non-empty: the call fails with this code
	global       bool   // IAM, STS and S3 bucket-listing calls are logged in us-east-1
	service      string // AWSService events: the service acting; the event credits nobody
}

func c(source, name string, actions ...string) call {
	return call{source: source + ".amazonaws.com", name: name, actions: actions, readOnly: isRead(name)}
}

func isRead(name string) bool {
	for _, p := range []string{"Describe", "List", "Get", "Head", "Lookup"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func global(k call) call { k.global = true; return k }

func fails(k call, code string) call { k.errorCode = code; return k }

// The intended IAM action of every call, written here independently of the pipeline's mapping
// table: monitoring.amazonaws.com is CloudWatch, ListBuckets needs s3:ListAllMyBuckets, Lambda's
// dated event names are the undated actions, ConsoleLogin and GetCallerIdentity need none.
var (
	callDescribeInstances  = c("ec2", "DescribeInstances", "ec2:DescribeInstances")
	callDescribeRegions    = c("ec2", "DescribeRegions", "ec2:DescribeRegions")
	callDescribeSGs        = c("ec2", "DescribeSecurityGroups", "ec2:DescribeSecurityGroups")
	callDescribeVpcs       = c("ec2", "DescribeVpcs", "ec2:DescribeVpcs")
	callRunInstancesDenied = fails(c("ec2", "RunInstances", "ec2:RunInstances"), "Client.UnauthorizedOperation")
	callListBuckets        = global(c("s3", "ListBuckets", "s3:ListAllMyBuckets"))
	callGetBucketPolicy    = c("s3", "GetBucketPolicy", "s3:GetBucketPolicy")
	callGetBucketAcl       = c("s3", "GetBucketAcl", "s3:GetBucketAcl")
	callListFunctions      = c("lambda", "ListFunctions20150331", "lambda:ListFunctions")
	callGetFunction        = c("lambda", "GetFunction20150331v2", "lambda:GetFunction")
	callUpdateFunctionCode = c("lambda", "UpdateFunctionCode20150331v2", "lambda:UpdateFunctionCode")
	callDescribeLogGroups  = c("logs", "DescribeLogGroups", "logs:DescribeLogGroups")
	callCreateLogStream    = c("logs", "CreateLogStream", "logs:CreateLogStream")
	callGetCallerIdentity  = global(c("sts", "GetCallerIdentity"))
	callListRoles          = global(c("iam", "ListRoles", "iam:ListRoles"))
	callGetUser            = global(c("iam", "GetUser", "iam:GetUser"))
	callListUsers          = global(c("iam", "ListUsers", "iam:ListUsers"))
	callGetAccountSummary  = global(c("iam", "GetAccountSummary", "iam:GetAccountSummary"))
	callCreateUserDenied   = fails(global(c("iam", "CreateUser", "iam:CreateUser")), "AccessDenied")
	callDescribeTrails     = c("cloudtrail", "DescribeTrails", "cloudtrail:DescribeTrails")
	callListKeys           = c("kms", "ListKeys", "kms:ListKeys")
	callDecrypt            = c("kms", "Decrypt", "kms:Decrypt")
	callPutMetricData      = c("monitoring", "PutMetricData", "cloudwatch:PutMetricData")
	callGetMetricData      = c("monitoring", "GetMetricData", "cloudwatch:GetMetricData")
	callDescribeAlarms     = c("monitoring", "DescribeAlarms", "cloudwatch:DescribeAlarms")
	callDescribeTable      = c("dynamodb", "DescribeTable", "dynamodb:DescribeTable")
	callGetParameter       = c("ssm", "GetParameter", "ssm:GetParameter")
	callGetQueueAttributes = c("sqs", "GetQueueAttributes", "sqs:GetQueueAttributes")
	callDescribeStacks     = c("cloudformation", "DescribeStacks", "cloudformation:DescribeStacks")
	callAssumeRole         = global(c("sts", "AssumeRole", "sts:AssumeRole"))
	callGetFederationToken = global(c("sts", "GetFederationToken", "sts:GetFederationToken"))
	callConsoleLogin       = call{source: "signin.amazonaws.com", name: "ConsoleLogin", global: true}
)

// serviceAssume is an AWS service assuming a role for itself (an EC2 instance profile, the
// support service-linked role): userIdentity.type AWSService, a service event crediting nobody.
func serviceAssume(svc string) call {
	k := callAssumeRole
	k.service = svc
	return k
}

// Principal types of the ground truth (the same strings as the lake's principal_type).
const (
	typeUser = "iam_user"
	typeRole = "iam_role"
	typeRoot = "root"
)

// actor is who makes a call, as CloudTrail's userIdentity shows it, and whom the ground truth
// credits (credited is empty for AWS services).
type actor struct {
	kind      string // IAMUser, AssumedRole, Root, FederatedUser, AWSService
	acct      string // account owning the identity
	arn       string // user, role or root ARN (the session issuer for sessions)
	id        string // AIDA…/AROA… unique ID of the user or role
	name      string // user or role name
	session   string // role session or federated user name
	credited  string // ARN the ground truth credits
	ptype     string // typeUser, typeRole, typeRoot
	accessKey string
}

func userActor(acct string, u user) actor {
	return actor{kind: "IAMUser", acct: acct, arn: u.arn(acct), id: stableID("AIDA", acct+u.name), name: u.name,
		credited: u.arn(acct), ptype: typeUser, accessKey: "AKIA" + stableID("", acct+u.name+"key1")[:16]}
}

func roleActor(acct string, r role, session string) actor {
	return actor{kind: "AssumedRole", acct: acct, arn: r.arn(acct), id: stableID("AROA", acct+r.name), name: r.name, session: session,
		credited: r.arn(acct), ptype: typeRole, accessKey: "ASIA" + stableID("", acct+r.name+session)[:16]}
}

func rootActor(acct string) actor {
	return actor{kind: "Root", acct: acct, arn: rootARN(acct), id: acct, credited: rootARN(acct), ptype: typeRoot,
		accessKey: "ASIA" + stableID("", acct+"root")[:16]}
}

// federated is the session an IAM user gets from GetFederationToken; it is credited to the user.
func federated(u actor, name string) actor {
	f := u
	f.kind, f.session, f.accessKey = "FederatedUser", name, "ASIA"+stableID("", u.acct+name)[:16]
	return f
}

// profile is an identity's background behaviour: which calls, how often relative to the others,
// and whether it works around the clock (services) or in office hours (people).
type profile struct {
	who      actor
	calls    []call
	weight   int
	allHours bool
}

// profiles lists the background activity of one account. Identities absent from it are
// inactive, or active only through the credential report or RoleLastUsed.
func profiles(iam accountIAM) []profile {
	a := iam.acct.ID
	var out []profile
	addUser := func(name string, weight int, calls ...call) {
		if u, ok := iam.user(name); ok {
			out = append(out, profile{who: userActor(a, u), weight: weight, calls: calls})
		}
	}
	addRole := func(name, session string, weight int, allHours bool, calls ...call) {
		if r, ok := iam.role(name); ok {
			out = append(out, profile{who: roleActor(a, r, session), weight: weight, allHours: allHours, calls: calls})
		}
	}
	addUser("alice", 4, callDescribeInstances, callListBuckets, callGetBucketPolicy, callListFunctions, callDescribeLogGroups,
		callGetCallerIdentity, callRunInstancesDenied)
	addUser("bob", 2, callListRoles, callGetUser, callDescribeTrails, callDescribeSGs, callListKeys)
	addUser("dave", 1, callListUsers, callGetAccountSummary, callCreateUserDenied)
	addUser("heidi", 1, callGetBucketAcl, callGetCallerIdentity)
	// SSO sessions are named after the person's e-mail.
	addRole("AWSReservedSSO_AdministratorAccess", "bob@example.com", 2, false,
		callListRoles, callListBuckets, callDescribeInstances, callDescribeAlarms, callGetMetricData)
	addRole("AWSReservedSSO_AdministratorAccess", "ana.lima@example.com", 1, false, callDescribeStacks, callGetCallerIdentity)
	addRole("platform-admin", "terraform", 2, false, callDescribeStacks, callDescribeVpcs, callUpdateFunctionCode, callGetBucketAcl)
	addRole("security-scanner", "security-scanner", 2, true, callDescribeTrails, callGetBucketAcl, callListRoles, callDescribeSGs)
	addRole("app-server", "i-0a1b2c3d4e5f60718", 6, true, callPutMetricData, callDescribeTable, callDecrypt, callGetParameter)
	addRole("lambda-processor", "processor-fn", 4, true, callGetFunction, callCreateLogStream, callGetQueueAttributes)
	addRole("ci-deploy", "build-4711", 1, true, callListBuckets)
	addRole("data-pipeline", "pipeline-fn", 2, true, callDescribeTable, callGetBucketAcl)
	return out
}

// pick returns a weighted random profile.
func pick(rng *rand.Rand, ps []profile, total int) profile {
	n := rng.IntN(total)
	for _, p := range ps {
		if n < p.weight {
			return p
		}
		n -= p.weight
	}
	return ps[len(ps)-1]
}

func uuid(rng *rand.Rand) string {
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xfff,
		(rng.Uint32()&0x3fff)|0x8000, rng.Uint64()&0xffffffffffff)
}

// randomTime is a whole second in the hour starting at hour (CloudTrail times have seconds).
func randomTime(rng *rand.Rand, hour time.Time) time.Time {
	return hour.Add(time.Duration(rng.IntN(3600)) * time.Second)
}

// params returns the requestParameters CloudTrail would show for k (nil when it shows null).
func params(k call, acct, region string, who actor) map[string]any {
	switch k.name {
	case "GetBucketPolicy", "GetBucketAcl":
		return map[string]any{"bucketName": "app-data-" + acct, "Host": "app-data-" + acct + ".s3." + region + ".amazonaws.com", k.name[3:]: ""}
	case "ListBuckets":
		return map[string]any{"Host": "s3.amazonaws.com"}
	case "DescribeTable":
		return map[string]any{"tableName": "orders"}
	case "Decrypt":
		return map[string]any{"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": map[string]any{"PARAMETER_ARN": "arn:aws:ssm:" + region + ":" + acct + ":parameter/app/db-password"}}
	case "GetParameter":
		return map[string]any{"name": "/app/db-password", "withDecryption": true}
	case "GetFunction20150331v2", "UpdateFunctionCode20150331v2":
		return map[string]any{"functionName": "orders-api"}
	case "CreateLogStream":
		return map[string]any{"logGroupName": "/aws/lambda/processor-fn", "logStreamName": "2026/11/01/[$LATEST]" + hexID(acct+region)}
	case "GetQueueAttributes":
		return map[string]any{"queueUrl": "https://sqs." + region + ".amazonaws.com/" + acct + "/orders", "attributeNames": []string{"All"}}
	case "PutMetricData":
		return map[string]any{"namespace": "Orders"}
	case "DescribeStacks":
		return map[string]any{"stackName": "platform"}
	case "RunInstances":
		return map[string]any{"instanceType": "m5.large", "minCount": 1, "maxCount": 1}
	case "CreateUser":
		return map[string]any{"userName": "temp-admin"}
	case "GetUser":
		return map[string]any{"userName": who.name}
	case "GetFederationToken":
		return map[string]any{"name": who.session, "durationSeconds": 3600}
	case "DescribeTrails":
		return map[string]any{"includeShadowTrails": true}
	}
	return nil
}
