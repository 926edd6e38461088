package v1alpha1

// Condition types. They follow the kstatus convention, so kubectl wait, Flux,
// kpt and Argo CD (with the shipped health checks) read them without help.
const (
	// ConditionReady is True only when the object does what the spec of
	// status.observedGeneration asks: with management Full, Spaces matches
	// it; with ObserveOnly, Spaces could be read (Synced says whether it
	// matches).
	ConditionReady = "Ready"
	// ConditionSynced is True when Spaces matches the spec; False with
	// reason Differs when management ObserveOnly found differences (listed
	// in status.differences), or with the reason of whatever failed.
	ConditionSynced = "Synced"
	// ConditionReconciling is True while work is in flight.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when progress needs a human: a bad key, a
	// missing scope, invalid input or an ambiguous adoption.
	ConditionStalled = "Stalled"
)

// Condition reasons. Event reasons are the same words, so a user can search
// events and conditions alike.
const (
	// ReasonSynced: Spaces matches the spec.
	ReasonSynced = "Synced"
	// ReasonProgressing: the operator is working towards the spec.
	ReasonProgressing = "Progressing"
	// ReasonSuspended: spec.suspend is true; nothing is sent to Spaces.
	ReasonSuspended = "Suspended"
	// ReasonDeleting: the object is being deleted.
	ReasonDeleting = "Deleting"

	// ReasonCredentialsNotFound: the credentials Secret or its key is missing.
	ReasonCredentialsNotFound = "CredentialsNotFound"
	// ReasonCredentialsInvalid: the key file in the Secret cannot be used.
	ReasonCredentialsInvalid = "CredentialsInvalid"
	// ReasonUnauthorized: Spaces refused the token (401).
	ReasonUnauthorized = "Unauthorized"
	// ReasonMissingScope: the service app lacks a scope the call needs (403).
	ReasonMissingScope = "MissingScope"
	// ReasonNotSpaceAdmin: the service account does not administer the space.
	ReasonNotSpaceAdmin = "NotSpaceAdmin"
	// ReasonInvalidInput: Spaces refused the request as invalid (400).
	ReasonInvalidInput = "InvalidInput"
	// ReasonRateLimited: Spaces asked the operator to slow down (429).
	ReasonRateLimited = "RateLimited"
	// ReasonSpacesUnavailable: Spaces could not be reached or failed (5xx).
	ReasonSpacesUnavailable = "SpacesUnavailable"

	// ReasonSpaceNotFound: spec.spaceID names a space that does not exist.
	ReasonSpaceNotFound = "SpaceNotFound"
	// ReasonSpaceGone: the managed space was deleted in Spaces.
	ReasonSpaceGone = "SpaceGone"
	// ReasonAmbiguousCreate: recovery from an interrupted create found more
	// than one candidate space.
	ReasonAmbiguousCreate = "AmbiguousCreate"
	// ReasonDiffers: management ObserveOnly found Spaces different from the
	// spec (Synced False; Ready stays True).
	ReasonDiffers = "Differs"
	// ReasonNothingToObserve: management ObserveOnly on a Space without a
	// space: set spec.spaceID, or management Full to create one.
	ReasonNothingToObserve = "NothingToObserve"
	// ReasonUncertainCreate: a create on an owner's behalf was interrupted
	// and its space cannot be found (such a space may be invisible to the
	// service account); a human checks, then sets spec.spaceID or
	// annotates recreate. Never a second create on a guess.
	ReasonUncertainCreate = "UncertainCreate"
	// ReasonSpaceClaimed: an older Space already manages the space.
	ReasonSpaceClaimed = "SpaceClaimed"
	// ReasonNotAllowed: the account the object uses does not allow what the
	// spec asks for; the message names the account and the rule.
	ReasonNotAllowed = "NotAllowed"
	// ReasonWaitingForSpace: a SpaceInvite's Space is not Ready yet.
	ReasonWaitingForSpace = "WaitingForSpace"
	// ReasonSecretConflict: the Secret the operator would write (passwords,
	// join links) exists and belongs to something else.
	ReasonSecretConflict = "SecretConflict"
	// ReasonConflict: another ServiceAccountUserSet already manages a user.
	ReasonConflict = "Conflict"

	// Event-only reasons.
	ReasonCreated        = "Created"
	ReasonAdopted        = "Adopted"
	ReasonUpdated        = "Updated"
	ReasonDriftCorrected = "DriftCorrected"
	ReasonDeleted        = "Deleted"
	// ReasonAbandoned: the object was released by the abandon annotation.
	ReasonAbandoned = "Abandoned"
	// ReasonDuplicateDeleted: a space left by an interrupted create of the
	// object (it holds one of the object's create tickets) was deleted.
	ReasonDuplicateDeleted = "DuplicateDeleted"
	// ReasonDuplicatesLeft: such spaces could not be deleted; they are listed
	// in status.leftoverSpaceIDs.
	ReasonDuplicatesLeft = "DuplicatesLeft"
)

// Finalizers.
const (
	// Finalizer guards every object until its deletion policy has been
	// carried out in Spaces.
	Finalizer = "spaces.avayacloud.com/finalizer"
	// CredentialsInUseFinalizer is put on a credentials Secret while any
	// object uses it, so a namespace teardown cannot delete the key before the
	// objects that need it to finish their own deletion.
	CredentialsInUseFinalizer = "spaces.avayacloud.com/in-use"
)

// Annotations.
const (
	// AnnotationCreatePending marks a Space whose POST /spaces/invite may have
	// reached Spaces without its answer being recorded. Its value names the
	// attempt and when it and the first attempt were marked, e.g.
	// "attempt=2 first=2026-11-28T10:00:00.000Z at=2026-11-28T10:01:02.345Z";
	// each attempt's space carries the ticket "<object UID>/<attempt>" in its
	// initial description. A bare RFC 3339 time is a mark of an operator
	// release without tickets.
	AnnotationCreatePending = "spaces.avayacloud.com/create-pending"
	// AnnotationSpaceID records the id of the space the operator created.
	AnnotationSpaceID = "spaces.avayacloud.com/space-id"
	// AnnotationSpaceIDProof vouches for the recorded space id until the
	// status confirms it: an HMAC of the object's UID and the id, keyed by
	// the service-app key, which nobody without the key can forge. A new
	// space's id is recorded in one metadata write, and its status written
	// once after the settings write; the proof covers a crash in between.
	AnnotationSpaceIDProof = "spaces.avayacloud.com/space-id-proof"
	// AnnotationRecreate set to "true" asks the operator to create a new space
	// for a Space whose space was deleted in Spaces; it is removed once done.
	AnnotationRecreate = "spaces.avayacloud.com/recreate"
	// AnnotationAbandon set to "true" on an object being deleted releases it
	// at once, without carrying out its deletionPolicy or prune: what exists
	// in Spaces is left as it is. The way out of a deletion that cannot
	// finish (a revoked key, lost admin rights).
	AnnotationAbandon = "spaces.avayacloud.com/abandon"
)

// Credentials Secret conventions.
const (
	// DefaultCredentialsKey is the Secret key holding the service-app key file.
	DefaultCredentialsKey = "service-key.json"
	// CredentialsAPIURLKey is the optional Secret key overriding the API base URL.
	CredentialsAPIURLKey = "api-url"
)
