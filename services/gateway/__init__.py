"""The gateway: REST/JSON for front ends, transcoded to gRPC from the protos' annotations."""
