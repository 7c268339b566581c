package event

// Lane roles: who passes a lane, on the wire in every reading and case.
const (
	RoleStudent = "student"
	RoleStaff   = "staff"
	RoleVisitor = "visitor"
	RoleRecheck = "recheck"
	RoleCanteen = "canteen"
)
