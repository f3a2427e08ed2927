"""Ships as evidence: AIS positions, detections, vessels and their sanctions."""
