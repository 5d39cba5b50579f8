//! The DynamoDB state store (feature `aws`): cirrus-geo's table. Not written yet.
