// Package controller holds the reconcilers of Space, SpaceInvite and
// ServiceAccountUserSet, and of the ClusterSpacesAccounts they may use.
package controller

// The permissions the manager needs, and no more, in one place;
// controller-gen turns them into config/rbac/role.yaml. The kinds are only
// ever patched (finalizers, bookkeeping, status). Secrets: credentials are
// read (metadata cached, data read directly) and carry the in-use
// finalizer; a ServiceAccountUserSet keeps its passwords, a SpaceInvite its
// join links, in a Secret it owns (hence their finalizers). Token and access reviews guard
// the metrics endpoint.
//
// +kubebuilder:rbac:groups=spaces.avayacloud.com,resources=spaces;spaceinvites;serviceaccountusersets,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=spaces.avayacloud.com,resources=spaces/status;spaceinvites/status;serviceaccountusersets/status,verbs=patch
// +kubebuilder:rbac:groups=spaces.avayacloud.com,resources=serviceaccountusersets/finalizers;spaceinvites/finalizers,verbs=update
// +kubebuilder:rbac:groups=spaces.avayacloud.com,resources=clusterspacesaccounts,verbs=get;list;watch
// +kubebuilder:rbac:groups=spaces.avayacloud.com,resources=clusterspacesaccounts/status,verbs=patch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create
