package demo

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// call is one kind of API call: what CloudTrail records (source, name) and what the generator
// means it to exercise (actions; nil for calls that need no permission).
type call struct {
	source, name string
	actions      []string
	readOnly     bool
	errorCode    string // non-empty: the call fails
	global       bool   // IAM/STS/S3-style global calls land in us-east-1
}

func c(source, name string, actions ...string) call {
	return call{source: source + ".amazonaws.com", name: name, actions: actions, readOnly: isRead(name)}
}

func isRead(name string) bool {
	for _, p := range []string{"Describe", "List", "Get", "Head"} {
		if len(name) >= len(p) && name[:len(p)] == p {
			return true
		}
	}
	return false
}

func global(k call) call { k.global = true; return k }
func fails(k call, code string) call {
	k.errorCode = code
	return k
}

// The intended IAM action of every call is written here, independently of the pipeline's
// mapping table: monitoring.amazonaws.com is CloudWatch, ListBuckets needs s3:ListAllMyBuckets,
// Lambda's dated names are the undated actions.
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

// actor is who makes a call, as CloudTrail's userIdentity shows it, and whom the ground truth
// credits (credited is empty for AWS services).
type actor struct {
	kind      string // IAMUser, AssumedRole, Root, FederatedUser, AWSService
	acct      string // account owning the identity
	arn       string // user, role or root ARN (the issuer for sessions)
	name      string // user or role name
	session   string // role session or federated user name
	service   string // AWSService: the service principal
	credited  string
	ptype     string // iam_user, iam_role, root
	accessKey string
}

// profile is an identity's background behaviour: who and which calls, how often relative to others.
type profile struct {
	who    actor
	calls  []call
	weight int
}

func userActor(acct string, u user) actor {
	return actor{kind: "IAMUser", acct: acct, arn: u.arn(acct), name: u.name, credited: u.arn(acct), ptype: "iam_user",
		accessKey: stableID("AKIA", acct+u.name)[:20]}
}

func roleActor(acct string, r role, session string) actor {
	return actor{kind: "AssumedRole", acct: acct, arn: r.arn(acct), name: r.name, session: session, credited: r.arn(acct), ptype: "iam_role",
		accessKey: "ASIA" + stableID("", acct+r.name+session)[:16]}
}

func findUser(iam accountIAM, name string) user {
	for _, u := range iam.users {
		if u.name == name {
			return u
		}
	}
	panic("demo: no user " + name)
}

func findRole(iam accountIAM, name string) role {
	for _, r := range iam.roles {
		if r.name == name || len(r.name) > len(name) && r.name[:len(name)] == name {
			return r
		}
	}
	panic("demo: no role " + name)
}

// profiles lists the background activity of one account. Identities absent from it are
// inactive (or active only through the credential report or RoleLastUsed).
func profiles(iam accountIAM) []profile {
	a := iam.acct.ID
	out := []profile{
		{who: userActor(a, findUser(iam, "alice")), weight: 4, calls: []call{callDescribeInstances, callListBuckets, callGetBucketPolicy,
			callListFunctions, callDescribeLogGroups, callGetCallerIdentity, callRunInstancesDenied}},
		{who: userActor(a, findUser(iam, "bob")), weight: 2, calls: []call{callListRoles, callGetUser, callDescribeTrails, callDescribeSGs, callListKeys}},
		{who: userActor(a, findUser(iam, "dave")), weight: 1, calls: []call{callListUsers, callGetAccountSummary, callCreateUserDenied}},
		{who: roleActor(a, findRole(iam, "AWSReservedSSO_AdministratorAccess"), "bob@example.com"), weight: 3,
			calls: []call{callListRoles, callListBuckets, callDescribeInstances, callDescribeAlarms, callGetMetricData}},
		{who: roleActor(a, findRole(iam, "platform-admin"), "terraform"), weight: 2,
			calls: []call{callDescribeStacks, callDescribeVpcs, callUpdateFunctionCode, callGetBucketAcl}},
	}
	if iam.acct.Kind == "member" {
		out = append(out,
			profile{who: roleActor(a, findRole(iam, "app-server"), "i-0123456789abcdef0"), weight: 6,
				calls: []call{callPutMetricData, callDescribeTable, callDecrypt, callGetParameter}},
			profile{who: roleActor(a, findRole(iam, "lambda-processor"), "processor-fn"), weight: 4,
				calls: []call{callGetFunction, callCreateLogStream, callGetQueueAttributes}},
			profile{who: roleActor(a, findRole(iam, "ci-deploy"), "build-4711"), weight: 1, calls: []call{callListBuckets}},
		)
	}
	return out
}

// pick returns a weighted random profile.
func pick(rng *rand.Rand, ps []profile) profile {
	total := 0
	for _, p := range ps {
		total += p.weight
	}
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

func randomTime(rng *rand.Rand, hour time.Time) time.Time {
	return hour.Add(time.Duration(rng.Int64N(int64(time.Hour/time.Millisecond))) * time.Millisecond)
}
